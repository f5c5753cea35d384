// bench/engine_idle: a link engine's CPU and memory with idle links (two booted test guests
// on one network, no traffic but what the guests send on their own), over --seconds.
// Usage: deno run -A bench/engine_idle.ts [--seconds N]
import { readFileSync } from "node:fs";
import { TestDaemon } from "../tests/helpers/env.ts";
import { bootAll, enginePids, netVm } from "../tests/helpers/networks.ts";

const argv = process.argv.slice(2);
const i = argv.indexOf("--seconds");
const seconds = i >= 0 ? Number(argv[i + 1]) : 10;
const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (1/100 s)
};
const d = await TestDaemon.start();
try {
  await d.client.createNetwork({ meta: { name: "idle" }, spec: { cidr: "10.90.0.0/24" } });
  await bootAll(d, [netVm("a", [{ network: "idle" }]), netVm("b", [{ network: "idle" }])]);
  const [pid] = enginePids(d.dataDir);
  await new Promise((r) => setTimeout(r, 2000));
  const t0 = ticks(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpuMs = ((ticks(pid) - t0) * 10) / seconds;
  const c = await d.client.getNetworkCounters({ ref: "idle" });
  console.log(
    `link engine with 2 idle links: ${cpuMs.toFixed(1)} ms of CPU per second over ${seconds} s, ` +
      `RSS ${(c.engine_rss_bytes / 2 ** 20).toFixed(1)} MiB`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
