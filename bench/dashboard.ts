// bench/dashboard: the web dashboard in Debian's chromium against a real daemon, each
// figure beside a baseline from the same run.
//   1. a change on screen: UpdateVm sent -> the VMs page shows it (a MutationObserver's
//      clock; the browser and this process share the host's), p50/p99, against the same
//      change reaching a plain gRPC watcher (goal: p99 <= 100 ms);
//   2. a topology of 200 stopped VMs on 20 networks: sign-in to every node and edge drawn
//      (goal <= 2 s), then a link selected to its panel shown (responsiveness);
//   3. 20 running VMs: the daemon's CPU and RSS over 30 s with the topology open, against
//      the same 30 s with no page (goal: <= 2% of one core).
// Usage: deno run -A bench/dashboard.ts [--rounds N] [--running N]
import { readFileSync } from "node:fs";
import type * as T from "../src/api/gen/infrasim.v1.ts";
import { guest, guestSpec, READY, sleep, TestDaemon, waitFor } from "../tests/helpers/env.ts";
import { launchBrowser, signedIn } from "../tests/helpers/browser.ts";
import { netVm } from "../tests/helpers/networks.ts";

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) =>
  argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt;
const rounds = arg("--rounds", 100);
const running = arg("--running", 20);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const ms = (x: number) => `${x.toFixed(1)} ms`;

function usage(pid: number): { cpu: number; rss: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  const rss = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)![1]);
  return { cpu: (Number(fields[11]) + Number(fields[12])) / 100, rss: rss * 1024 };
}

const browser = await launchBrowser();
const spec = guestSpec(guest("x86_64"), {
  power_state: "POWER_OFF",
  network: { mode: "none", port_forwards: [] },
});

// 1. A change on screen.
{
  const d = await TestDaemon.start();
  try {
    const probe = await d.client.createVm({ meta: { name: "probe" }, spec });
    const { page } = await signedIn(d, browser);
    await page.evaluate(`location.hash = "#/vms"`);
    await page.locator(`tr[data-id="${probe.meta!.id}"]`).waitFor();
    await page.evaluate(`(() => {
      window.__seen = {};
      new MutationObserver(() => {
        const row = document.querySelector('tr[data-id="${probe.meta!.id}"]');
        const m = row?.cells[4].textContent.match(/^(\\d+) MiB/); // the Memory column
        if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
      }).observe(document.querySelector("main"), { childList: true, subtree: true, characterData: true });
    })()`);
    const watched = new Map<number, number>();
    const w = d.client.watch({ kinds: ["vm"], name: "probe" }, (e: T.WatchEvent) => {
      if (e.vm) watched.set(e.vm.spec!.memory_mb, Date.now());
    });
    w.done.catch(() => {}); // ends with the daemon
    const sent = new Map<number, number>();
    for (let i = 0; i < rounds; i++) {
      const mem = 300 + i;
      sent.set(mem, Date.now());
      await d.client.updateVm({ ref: "probe", spec: { ...spec, memory_mb: mem } });
      await waitFor(
        "the page",
        async () => await page.evaluate(`${mem} in window.__seen`),
        5000,
        5,
      );
    }
    w.cancel();
    const seen = await page.evaluate("window.__seen") as Record<string, number>;
    const screen = [...sent].map(([m, t]) => seen[m] - t);
    const watcher = [...sent].map(([m, t]) => watched.get(m)! - t);
    console.log(
      `1. a change on screen, ${rounds} changes (UpdateVm sent -> the VMs page shows it):`,
    );
    console.log(
      `   p50 ${ms(pct(screen, 0.5))}, p99 ${ms(pct(screen, 0.99))} (goal: p99 <= 100 ms)`,
    );
    console.log(
      `   baseline, the same change at a gRPC watcher: p50 ${ms(pct(watcher, 0.5))}, p99 ${
        ms(pct(watcher, 0.99))
      }; ratio p99 ${(pct(screen, 0.99) / Math.max(1, pct(watcher, 0.99))).toFixed(2)}`,
    );
  } finally {
    await d.cleanup();
  }
}

// 2. A topology of 200 VMs on 20 networks.
{
  const d = await TestDaemon.start();
  try {
    for (let n = 0; n < 20; n++) {
      await d.client.createNetwork({ meta: { name: `n${n}` }, spec: { cidr: `10.60.${n}.0/24` } });
    }
    for (let i = 0; i < 200; i++) {
      const r = netVm(`v${i}`, [{ network: `n${i % 20}` }]);
      await d.client.createVm({ ...r, spec: { ...r.spec, power_state: "POWER_OFF" } });
    }
    const t0 = performance.now();
    const { page } = await signedIn(d, browser);
    await page.locator('.graph[data-nodes="220"][data-edges="200"]').waitFor({ timeout: 30_000 });
    const load = performance.now() - t0;
    const t1 = performance.now();
    await page.locator('section[aria-label="Links"] button', { hasText: "Select" }).nth(137)
      .click();
    await page.locator("aside.panel h2", { hasText: "↔" }).waitFor();
    const select = performance.now() - t1;
    const t2 = performance.now();
    await page.evaluate(`location.hash = "#/vms"`);
    await page.locator("tr", { hasText: "v199" }).waitFor();
    const vms = performance.now() - t2;
    console.log("2. 200 stopped VMs on 20 networks:");
    console.log(`   sign-in to the topology fully drawn: ${ms(load)} (goal <= 2000 ms)`);
    console.log(`   a link selected to its panel: ${ms(select)}; the VMs page: ${ms(vms)}`);
  } finally {
    await d.cleanup();
  }
}

// 3. The daemon's cost with 20 running VMs, with and without the topology open.
{
  const d = await TestDaemon.start();
  try {
    for (let n = 0; n < 4; n++) {
      await d.client.createNetwork({ meta: { name: `n${n}` }, spec: { cidr: `10.61.${n}.0/24` } });
    }
    const vms = [];
    for (let i = 0; i < running; i++) {
      const r = netVm(`r${i}`, [{ network: `n${i % 4}` }]);
      vms.push(await d.client.createVm({ ...r, spec: { ...r.spec, memory_mb: 128 } }));
    }
    for (const vm of vms) await d.waitSerial(vm, READY, 600_000);
    await sleep(5000);
    const pid = d.proc.pid!;
    const window = 30;
    const measure = async () => {
      const a = usage(pid);
      await sleep(window * 1000);
      const b = usage(pid);
      return { cpu: (b.cpu - a.cpu) / window * 100, rss: b.rss };
    };
    const idle = await measure();
    const { page, context } = await signedIn(d, browser);
    await page.locator(`.graph[data-edges="${running}"]`).waitFor({ timeout: 30_000 });
    const open = await measure();
    // The VMs page: the change feed only, no counters polled.
    await page.evaluate(`location.hash = "#/vms"`);
    const list = await measure();
    await context.close();
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    console.log(`3. the daemon with ${running} running VMs, over ${window} s each:`);
    console.log(
      `   CPU with the topology open: ${open.cpu.toFixed(2)}% of one core (goal <= 2%); ` +
        `the VMs page: ${list.cpu.toFixed(2)}%; with no page: ${idle.cpu.toFixed(2)}%`,
    );
    console.log(`   RSS with the page open: ${mib(open.rss)}; with no page: ${mib(idle.rss)}`);
  } finally {
    await d.cleanup();
  }
}
await browser.close();
