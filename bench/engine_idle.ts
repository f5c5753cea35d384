// bench/engine_idle: a link engine's CPU and memory with idle links (two booted test guests
// on one network, no traffic but what the guests send on their own), over --seconds.
// Usage: deno run -A bench/engine_idle.ts [--seconds N]
import { processUsage } from "../src/process/usage.ts";
import { TestDaemon } from "../tests/helpers/env.ts";
import { bootAll, enginePids, netVm } from "../tests/helpers/networks.ts";

const argv = process.argv.slice(2);
const i = argv.indexOf("--seconds");
const seconds = i >= 0 ? Number(argv[i + 1]) : 10;
const cpu = async (pid: number) => (await processUsage(pid)).cpuSeconds;
const d = await TestDaemon.start();
try {
  await d.client.createNetwork({ meta: { name: "idle" }, spec: { cidr: "10.90.0.0/24" } });
  await bootAll(d, [netVm("a", [{ network: "idle" }]), netVm("b", [{ network: "idle" }])]);
  const [pid] = enginePids(d.dataDir);
  await new Promise((r) => setTimeout(r, 2000));
  const t0 = await cpu(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpuMs = ((await cpu(pid)) - t0) * 1000 / seconds;
  const c = await d.client.getNetworkCounters({ ref: "idle" });
  console.log(
    `link engine with 2 idle links: ${cpuMs.toFixed(1)} ms of CPU per second over ${seconds} s, ` +
      `RSS ${(c.engine_rss_bytes / 2 ** 20).toFixed(1)} MiB`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
