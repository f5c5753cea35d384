// bench/watch: the change feed through a real daemon, each figure beside a baseline from
// the same run.
//   1. latency from a change to its event at a watcher (UpdateVm sent -> the event seen),
//      p50/p99, against the plain round trip of the same call (goal: p99 <= 50 ms);
//   2. 100 VMs created and deleted with 5 watchers against the same with none (every
//      watcher must see every event, in order);
//   3. the daemon's CPU with 5 idle watchers against none, over the same time (goal ~0).
// Usage: deno run -A bench/watch.ts [--rounds N]
import { readFileSync } from "node:fs";
import type * as T from "../src/api/gen/infrasim.v1.ts";
import { guest, guestSpec, TestDaemon, waitFor } from "../tests/helpers/env.ts";

const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] || 200);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const ms = (x: number) => `${x.toFixed(2)} ms`;

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

const d = await TestDaemon.start();
const spec = guestSpec(guest("x86_64"), {
  power_state: "POWER_OFF",
  network: { mode: "none", port_forwards: [] },
});
try {
  await d.client.createVm({ meta: { name: "probe" }, spec });

  // 1. Change -> event latency, against the call's own round trip.
  const seen = new Map<string, number>();
  const w = d.client.watch({ kinds: ["vm"], name: "probe" }, (e: T.WatchEvent) => {
    const v = e.vm?.meta?.labels?.v;
    if (v) seen.set(v, performance.now());
  });
  await waitFor("the watch", () => w && seen !== undefined, 1000);
  const rtt: number[] = [];
  const lat: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await d.client.getVm("probe");
    rtt.push(performance.now() - t0);
    const t1 = performance.now();
    await d.client.updateVm({ ref: "probe", meta: { labels: { v: String(i) } }, spec });
    await waitFor("the event", () => seen.has(String(i)), 5000, 1);
    lat.push(seen.get(String(i))! - t1);
  }
  w.cancel();
  console.log(`change -> event at a watcher, ${rounds} changes:`);
  console.log(`  p50 ${ms(pct(lat, 0.5))}, p99 ${ms(pct(lat, 0.99))} (goal: p99 <= 50 ms)`);
  console.log(
    `  baseline, a GetVm round trip: p50 ${ms(pct(rtt, 0.5))}, p99 ${ms(pct(rtt, 0.99))}; ` +
      `ratio p50 ${(pct(lat, 0.5) / pct(rtt, 0.5)).toFixed(2)}`,
  );

  // 2. 100 VMs created and deleted, with 5 watchers and with none.
  const churn = async (prefix: string) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, async (_, t) => {
      for (let i = t; i < 100; i += 4) {
        await d.client.createVm({ meta: { name: `${prefix}-${i}` }, spec });
        await d.client.deleteVm(`${prefix}-${i}`);
      }
    }));
    return performance.now() - t0;
  };
  const bare = await churn("a");
  const logs: T.WatchEvent[][] = Array.from({ length: 5 }, () => []);
  const jobs = logs.map((log) => d.client.watch({ kinds: ["vm"] }, (e) => log.push(e)));
  await waitFor("5 watches synced", () => logs.every((l) => l.some((e) => e.type === "SYNCED")));
  const watched = await churn("b");
  await waitFor(
    "every delete at every watcher",
    () => logs.every((l) => l.filter((e) => e.type === "DELETED").length === 100),
    30_000,
  );
  const seqs = logs.map((l) => l.map((e) => `${e.resource_version}${e.type}`).join());
  const same = seqs.every((s) => s === seqs[0]);
  const ordered = logs.every((l) => {
    const v = l.slice(l.findIndex((e) => e.type === "SYNCED") + 1).map((e) => e.resource_version);
    return v.every((x, i) => i === 0 || x > v[i - 1]);
  });
  console.log(`100 VMs created and deleted (4 clients at a time):`);
  console.log(
    `  no watcher ${ms(bare)}, 5 watchers ${ms(watched)}; ratio ${(watched / bare).toFixed(2)}; ` +
      `every watcher saw the same ${logs[0].length} events in order: ${same && ordered}`,
  );

  // 3. The daemon's CPU with 5 idle watchers, against none, 10 s each.
  const pid = d.proc.pid!;
  const idle = async () => {
    const c0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 10_000));
    return (cpuSeconds(pid) - c0) * 1000 / 10; // ms of CPU per second
  };
  const withWatchers = await idle();
  for (const j of jobs) j.cancel();
  const without = await idle();
  console.log("daemon CPU while idle, 10 s each:");
  console.log(
    `  5 idle watchers ${withWatchers.toFixed(1)} ms/s, none ${without.toFixed(1)} ms/s ` +
      `(goal: ~0; the difference is what the watchers cost)`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
