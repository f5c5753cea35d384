// `infrasim vm ssh` flags through the real command tree (no daemon): after `vm ssh`, -o is
// ssh's, while the program's -o (--output) keeps working before it and for other commands;
// -i and the pinned options are usage errors.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../../src/cli/main.ts";
import { globalOptions } from "../../src/cli/global_options.ts";
import { UsageError } from "../../src/cli/flags.ts";
import type { Ctx } from "../../src/cli/context.ts";

class Reached extends Error {}

/** Parses argv; the action stops where it would ask the daemon. */
async function parse(argv: string[]) {
  const ctx: Ctx = {
    client: () => Promise.reject(new Reached()),
    format: () => "table",
    print: () => {},
  };
  const program = await buildProgram(ctx, argv);
  let running: Command | undefined;
  const follow = (c: Command) => {
    c.hook("preSubcommand", (_, sub) => void (running = sub as Command));
    c.commands.forEach((x) => follow(x as Command));
  };
  follow(program);
  const sub = (c: Command, ...names: string[]) =>
    names.reduce((x, n) => x.commands.find((y) => y.name() === n)! as Command, c);
  let error: unknown;
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    error = e;
  }
  return {
    error,
    output: globalOptions(program, running).output,
    ssh: sub(program, "vm", "ssh").opts() as Record<string, unknown>,
  };
}

Deno.test("vm ssh: -o after vm ssh is ssh's; the program's -o still works elsewhere", async () => {
  let r = await parse(["vm", "ssh", "web", "-o", "ServerAliveInterval=5", "-oCompression=yes"]);
  assert.ok(r.error instanceof Reached, String(r.error));
  assert.deepEqual(r.ssh.sshOption, ["ServerAliveInterval=5", "Compression=yes"]);
  assert.equal(r.output, "table");

  r = await parse([
    "-o",
    "json",
    "--token",
    "t",
    "vm",
    "ssh",
    "-A",
    "web",
    "-o",
    "A=b",
    "--",
    "-o",
  ]);
  assert.ok(r.error instanceof Reached, String(r.error));
  assert.equal(r.output, "json");
  assert.deepEqual(r.ssh.sshOption, ["A=b"]);
  assert.equal(r.ssh.forwardAgent, true);

  r = await parse(["-ojson", "vm", "ssh", "web", "--ssh-option", "A=b", "--output", "yaml"]);
  assert.ok(r.error instanceof Reached, String(r.error));
  assert.equal(r.output, "yaml");
  assert.deepEqual(r.ssh.sshOption, ["A=b"]);

  r = await parse(["vm", "ssh", "web", "-L", "8080:127.0.0.1:80", "-L", "1:h:2"]);
  assert.ok(r.error instanceof Reached, String(r.error));
  assert.deepEqual(r.ssh.localForward, ["8080:127.0.0.1:80", "1:h:2"]);

  // Other commands: -o is the output format, anywhere.
  r = await parse(["vm", "list", "-o", "json"]);
  assert.ok(r.error instanceof Reached, String(r.error));
  assert.equal(r.output, "json");
  r = await parse(["vm", "list", "-o", "ServerAliveInterval=5"]);
  assert.equal((r.error as { code?: string }).code, "commander.invalidArgument");
});

Deno.test("vm ssh: -i must be readable, and the pinned options are refused", async () => {
  const dir = mkdtempSync("/tmp/isk-");
  try {
    writeFileSync(join(dir, "key"), "k");
    let r = await parse(["vm", "ssh", "-i", join(dir, "key"), "web"]);
    assert.ok(r.error instanceof Reached, String(r.error));
    r = await parse(["vm", "ssh", "-i", join(dir, "nope"), "web"]);
    assert.ok(r.error instanceof UsageError);
    assert.equal(r.error.message, `-i/--identity: cannot read ${dir}/nope: ENOENT`);
    r = await parse(["vm", "ssh", "--identity", dir, "web"]);
    assert.ok(r.error instanceof UsageError);
    assert.equal(r.error.message, `-i/--identity: ${dir} is not a file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const o of ["StrictHostKeyChecking=no", "hostkeyalias x", "UserKnownHostsFile=/dev/null"]) {
    const r = await parse(["vm", "ssh", "web", "-o", o]);
    assert.ok(r.error instanceof UsageError, o);
    assert.match(r.error.message, /^-o\/--ssh-option: \w+ cannot be changed: /);
  }
  const r = await parse(["vm", "ssh", "web", "-o", "json"]);
  assert.ok(r.error instanceof UsageError);
  assert.match(r.error.message, /"json" has no value .*-o is ssh's/);
});
