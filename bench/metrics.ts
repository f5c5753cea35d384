// bench/metrics: what a Prometheus scrape of /metrics costs with running VMs (each scrape
// reads every QEMU's /proc entries, asks each QMP for its block counters and each link
// engine for its counters). Baselines from the same run: an API call's latency
// (GetDaemonStatus over the unix socket) for the scrape's, and the daemon's own CPU
// with nobody scraping for its CPU while scraped once a second (Prometheus scrapes every
// 15 s by default; once a second is 15 times that).
// Usage: deno run -A bench/metrics.ts [--vms N] [--seconds S]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TestDaemon } from "../tests/helpers/env.ts";
import { median } from "../tests/helpers/guest_shell.ts";
import { bootAll, netVm } from "../tests/helpers/networks.ts";
import { processUsage } from "../src/process/usage.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const vms = opt("vms", 8);
const seconds = opt("seconds", 15);
const cpu = async (pid: number) => (await processUsage(pid)).cpuSeconds;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(0.99 * (xs.length - 1))];

const d = await TestDaemon.start();
try {
  await d.client.createNetwork({ meta: { name: "m" }, spec: { cidr: "10.91.0.0/24" } });
  await bootAll(
    d,
    Array.from({ length: vms }, (_, i) => netVm(`vm${i}`, i < 2 ? [{ network: "m" }] : [])),
  );
  const pid = d.proc.pid!;
  const token = readFileSync(join(d.dataDir, "metrics-token"), "utf8").trim();
  const url = `http://127.0.0.1:${d.httpPort}/metrics`;
  const scrape = async () => {
    const t0 = performance.now();
    const r = await fetch(url, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`scrape: ${r.status} ${text.slice(0, 200)}`);
    return { ms: performance.now() - t0, bytes: text.length };
  };
  await scrape(); // warm-up
  const api: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await d.client.getDaemonStatus();
    api.push(performance.now() - t0);
  }

  await new Promise((r) => setTimeout(r, 2000));
  let t = await cpu(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const idle = ((await cpu(pid)) - t) * 1000 / seconds; // ms of CPU per second

  const scrapes: number[] = [];
  let bytes = 0;
  t = await cpu(pid);
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const next = Date.now() + 1000;
    const s = await scrape();
    scrapes.push(s.ms);
    bytes = s.bytes;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const scraped = ((await cpu(pid)) - t) * 1000 / seconds;

  console.log(
    `${vms} running VMs (2 on a network), ${scrapes.length} scrapes, ${bytes} bytes each`,
  );
  console.log(
    `scrape latency: median ${median(scrapes).toFixed(1)} ms, p99 ${p99(scrapes).toFixed(1)} ms; ` +
      `GetDaemonStatus median ${median(api).toFixed(2)} ms (ratio ${
        (median(scrapes) / median(api)).toFixed(1)
      })`,
  );
  console.log(
    `daemon CPU: ${idle.toFixed(1)} ms/s idle, ${scraped.toFixed(1)} ms/s scraped once a second ` +
      `(${(scraped - idle).toFixed(1)} ms per scrape)`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
