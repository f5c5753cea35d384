// bench/cli: `infrasim vm list` with 0 and 200 (stopped) VMs, and `infrasim status`,
// against the same binary's bare start-up (`infrasim --version`), all in the same run.
// Goal: list of 200 <= 1.5x `virsh list --all` (40-54 ms on this machine kind; virsh is
// not installed here, so the absolute figure is printed next to that reference).
// Where the fixed cost goes: --version is start-up alone, --help adds building and
// rendering the command tree, status adds the gRPC client and one small call.
// Usage: deno run -A bench/cli.ts [--rounds N] [--bin PATH] (another build to compare)
import { spawnSync } from "node:child_process";
import { guest, guestSpec, INFRASIM, TestDaemon } from "../tests/helpers/env.ts";
import { median } from "./lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const rounds = Number(opt("rounds") ?? 15);
const bin = opt("bin") ?? INFRASIM;
const N = 200;

const d = await TestDaemon.start();
const env = { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" };

/** ms for one run of the CLI; a failed run stops the bench rather than skewing it. */
function run(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(bin, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`infrasim ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

/** Median ms of each command, the commands interleaved round by round. */
function measure(cmds: Record<string, string[]>): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (const args of Object.values(cmds)) run(args); // warm the page cache
  for (let r = 0; r < rounds; r++) {
    for (const [name, args] of Object.entries(cmds)) (times[name] ??= []).push(run(args));
  }
  return Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
}

try {
  const empty = measure({
    version: ["--version"],
    help: ["--help"],
    status: ["status"],
    list0: ["vm", "list"],
  });
  const spec = guestSpec(guest("x86_64"), { power_state: "POWER_OFF" });
  for (let k = 0; k < N; k += 20) {
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, j) =>
          d.client.createVm({ meta: { name: `vm-${String(k + j).padStart(3, "0")}` }, spec }),
      ),
    );
  }
  const full = measure({ version: ["--version"], list200: ["vm", "list"] });
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`${bin}, median of ${rounds} runs each:`);
  console.log(`  --version ${ms(empty.version)} / ${ms(full.version)} (the two phases)`);
  const x = (v: number) => `${(v / empty.version).toFixed(2)}x`;
  console.log(`  --help    ${ms(empty.help)} (${x(empty.help)})`);
  console.log(`  status    ${ms(empty.status)} (${x(empty.status)})`);
  console.log(
    `  vm list, 0 VMs    ${ms(empty.list0)}; ratio list-0 / --version ${
      (empty.list0 / empty.version).toFixed(2)
    }`,
  );
  console.log(
    `  vm list, ${N} VMs  ${ms(full.list200)}; ratio list-${N} / --version ${
      (full.list200 / full.version).toFixed(2)
    }`,
  );
  console.log(
    `  goal: list-${N} <= 1.5x virsh list --all (40-54 ms on this machine kind): <= 60-81 ms`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
