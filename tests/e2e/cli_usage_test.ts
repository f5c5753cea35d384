// The CLI as a newcomer meets it, without booting a guest: usage errors (one line
// pointing at the right --help, never the whole help), --help with required options
// and examples, a bad daemon address, an unreachable daemon, and the daemon's errors
// a user can act on said in flag terms.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { E2E, e2eTest, guest, INFRASIM } from "../helpers/env.ts";
import { buildProgram } from "../../src/cli/main.ts";
import type { Ctx } from "../../src/cli/context.ts";
import { defaultArch } from "../../src/api/arch.ts";

/** Runs the CLI with no daemon anywhere (a data dir that does not exist). */
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(INFRASIM, args, {
    encoding: "utf8",
    env: {
      ...process.env,
      INFRASIM_DATA_DIR: "/tmp/no-such-infrasim-dir",
      INFRASIM_DAEMON_ADDRESS: "",
      ...env,
    },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** stderr of a usage error: the error (and maybe a suggestion), then one pointer line. */
function assertUsage(r: ReturnType<typeof cli>, error: RegExp, helpOf: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.match(lines[0], error);
  assert.equal(lines[lines.length - 1], `(run '${helpOf} --help' for usage)`);
  assert.ok(lines.length <= 3, `at most error, suggestion and pointer:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Usage:|Options:|Commands:/, "no help text on an error");
}

/** Every command path of the real program, "infrasim vm create" and so on. */
async function commandPaths(): Promise<string[]> {
  const ctx = {} as Ctx; // building the tree calls nothing on it
  const paths: string[] = [];
  const walk = (c: { name(): string; commands: readonly unknown[] }, prefix: string) => {
    const path = prefix ? `${prefix} ${c.name()}` : c.name();
    paths.push(path);
    for (const sub of c.commands) walk(sub as typeof c, path);
  };
  walk(await buildProgram(ctx, []), "");
  return paths;
}

Deno.test({
  name: "cli usage: an unknown option on every command gives one line naming its --help",
  ...E2E,
  fn: async () => {
    const paths = await commandPaths();
    assert.ok(paths.includes("infrasim vm create") && paths.includes("infrasim completion"));
    for (const path of paths) {
      const r = cli([...path.split(" ").slice(1), "--no-such-option"]);
      assertUsage(r, /^error: unknown option '--no-such-option'$/, path);
    }
  },
});

Deno.test({
  name: "cli usage: unknown commands, missing arguments and bad choices: one pointer line",
  ...E2E,
  fn: () => {
    assertUsage(cli(["vmm"]), /^error: unknown command 'vmm'/, "infrasim");
    assert.match(cli(["vmm"]).stderr, /Did you mean vm\?/);
    assertUsage(cli(["vm", "strat", "x"]), /^error: unknown command 'strat'/, "infrasim vm");
    assertUsage(cli(["vm", "get"]), /^error: missing required argument 'vm'/, "infrasim vm get");
    assertUsage(cli(["-o", "xml", "vm", "list"]), /argument 'xml' is invalid/, "infrasim");
    assertUsage(cli(["completion", "tcsh"]), /'tcsh' is invalid/, "infrasim completion");
    assertUsage(
      cli(["vm", "create", "--name", "x", "--cpu", "two"]),
      /--cpu: "two" is not an integer/,
      "infrasim vm create",
    );
  },
});

Deno.test({
  name: "cli usage: an unknown option is reported before a missing --name",
  ...E2E,
  fn: () => {
    const typo = cli(["vm", "create", "--nmae", "x"]);
    assertUsage(typo, /^error: unknown option '--nmae'$/, "infrasim vm create");
    assert.match(typo.stderr, /\(Did you mean --name\?\)/);
    assert.doesNotMatch(typo.stderr, /required option/);
    assertUsage(
      cli(["vm", "create", "--cpu", "2"]),
      /^error: required option '--name <name>' not specified$/,
      "infrasim vm create",
    );
  },
});

Deno.test({
  name: "cli usage: flags that contradict each other are refused before anything is sent",
  ...E2E,
  fn: () => {
    assertUsage(
      cli(["vm", "create", "--name", "x", "--no-network", "--port", "80"]),
      /^error: --port needs a network: drop --no-network to forward ports$/,
      "infrasim vm create",
    );
    assertUsage(
      cli(["vm", "create", "--name", "x", "--initrd", "/i"]),
      /^error: --initrd and --cmdline need --kernel$/,
      "infrasim vm create",
    );
  },
});

Deno.test({
  name: "cli usage: a bad --daemon-address exits 2 naming the flag (or the variable)",
  ...E2E,
  fn: () => {
    assertUsage(
      cli(["--daemon-address", "not an address", "vm", "list"]),
      /^error: --daemon-address: "not an address" is not unix:\/\/\/path, \/path or host:port$/,
      "infrasim",
    );
    assertUsage(
      cli(["vm", "list"], { INFRASIM_DAEMON_ADDRESS: "https://127.0.0.1:1" }),
      /^error: \$INFRASIM_DAEMON_ADDRESS: TLS \(https:\/\/\) is not supported$/,
      "infrasim",
    );
  },
});

Deno.test({
  name: "cli help: required options marked, examples shown, exit 0 on stdout",
  ...E2E,
  fn: () => {
    const create = cli(["vm", "create", "--help"]);
    assert.equal(create.code, 0);
    assert.equal(create.stderr, "");
    assert.match(create.stdout, /--name <name>\s+unique name, a DNS label \(required\)/);
    assert.match(create.stdout, /\nExamples:\n[\s\S]*infrasim vm create --name web --kernel/);
    const top = cli(["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /\nExamples:\n[\s\S]*infrasim vm create --name web/);
    assert.match(top.stdout, /completion <shell>/);
    assert.match(cli(["vm", "delete", "--help"]).stdout, /infrasim vm delete --force web/);
    assert.match(cli(["vm", "console", "--help"]).stdout, /Ctrl-] detaches/);
  },
});

Deno.test({
  name: "cli: the unreachable daemon's message says where it looked and how to start it",
  ...E2E,
  fn: () => {
    const dir = "/tmp/no-such-infrasim-dir";
    const r = cli(["vm", "list"], { INFRASIM_DATA_DIR: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `error: UNAVAILABLE: cannot reach infrasimd at unix://${dir}/infrasimd.sock; ` +
        `start it with: infrasimd --data-dir ${dir}\n`,
    );
    // The socket named by --daemon-address says which data dir to start a daemon on.
    const bySocket = cli(["--daemon-address", `unix://${dir}-2/infrasimd.sock`, "vm", "list"]);
    assert.match(bySocket.stderr, new RegExp(`start it with: infrasimd --data-dir ${dir}-2\n$`));
    const tcp = cli(["--daemon-address", "127.0.0.1:1", "status"]);
    assert.equal(tcp.code, 1);
    assert.match(tcp.stderr, /cannot reach infrasimd at 127\.0\.0\.1:1; start infrasimd there/);
    for (const out of [r.stderr, tcp.stderr]) {
      assert.doesNotMatch(out, /grpc|No connection established|14 UNAVAILABLE|ECONNREFUSED/i);
    }
  },
});

e2eTest("cli: a duplicate name is reported as --name, with what to do", (d) => {
  assert.equal(d.cli(["vm", "create", "--name", "web"]).code, 0);
  const dup = d.cli(["vm", "create", "--name", "web"]);
  assert.equal(dup.code, 1);
  assert.equal(
    dup.stderr,
    'error: ALREADY_EXISTS: --name: a VM named "web" already exists; choose another name, ' +
      "or delete it first (infrasim vm delete web)\n",
  );
});

e2eTest("cli: a kernel of the other arch is refused, naming --kernel and --arch", (d) => {
  for (const [kernelArch, vmArch] of [["aarch64", "x86_64"], ["x86_64", "aarch64"]]) {
    const g = guest(kernelArch as "x86_64" | "aarch64");
    const r = d.cli([
      "vm",
      "create",
      "--name",
      `wrong-${kernelArch.replace("_", "-")}`,
      "--arch",
      vmArch,
      "--kernel",
      g.kernel,
      "--initrd",
      g.initrd,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `error: INVALID_ARGUMENT: --kernel: "${g.kernel}" is an ${kernelArch} kernel but the VM ` +
        `is ${vmArch} (--arch defaults to the host's; pass --arch ${kernelArch})\n`,
    );
  }
  // --arch left at its default (the host's) with the other arch's kernel.
  const other = defaultArch() === "x86_64" ? "aarch64" : "x86_64";
  const dflt = d.cli(["vm", "create", "--name", "dflt", "--kernel", guest(other).kernel]);
  assert.equal(dflt.code, 1);
  assert.match(
    dflt.stderr,
    new RegExp(`--kernel: .* is an ${other} kernel but the VM is ${defaultArch()}`),
  );
  assert.equal(d.cli(["vm", "list", "-o", "json"]).stdout.trim(), "[]", "nothing was created");
  // The right arch for each kernel is accepted.
  for (const arch of ["x86_64", "aarch64"] as const) {
    const ok = d.cli([
      "vm",
      "create",
      "--name",
      `ok-${arch.replace("_", "-")}`,
      "--arch",
      arch,
      "--kernel",
      guest(arch).kernel,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
  }
});
