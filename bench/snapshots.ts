// bench/snapshots: snapshots through infrasimd's API, in one run.
//   start   StartVm from a memory snapshot until the guest answers on its forwarded
//           port, against a cold StartVm (a boot) until the same answer (goal <= 0.4)
//   save    CreateSnapshot with memory: the pause the guest saw and the call's time
//   restore RestoreSnapshot into the running VM: the call's time
// for VMs of 256 MiB and 1 GiB (the test guest, a 1 GiB data volume); and a checkpoint of
// 4 running VMs: how long they are paused together, and the whole create and restore.
// Usage: deno run -A bench/snapshots.ts [--rounds N] [--memory 256,1024]
import { guest, guestSpec, TestDaemon } from "../tests/helpers/env.ts";
import { median } from "./lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const rounds = Number(opt("rounds", "5"));
const sizes = opt("memory", "256,1024").split(",").map(Number);
const g = guest("x86_64");

/** Until the guest's web server answers on its forwarded port (polled every 10 ms). */
async function answers(port: number, t0: number): Promise<number> {
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) {
        await r.text();
        return performance.now() - t0;
      }
    } catch { /* not yet */ }
    if (performance.now() - t0 > 120_000) throw new Error("the guest never answered");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
const d = await TestDaemon.start();
try {
  for (const memory of sizes) {
    const name = `b${memory}`;
    await d.client.createVolume({ meta: { name: `${name}-data` }, spec: { size_gb: 1 } });
    let vm = await d.client.createVm({
      meta: { name },
      spec: guestSpec(g, {
        memory_mb: memory,
        volumes: [{ volume: `${name}-data`, read_only: false }],
      }),
    });
    const port = vm.status!.port_forwards[0].host_port;
    await answers(port, performance.now());
    const cold: number[] = [], warm: number[] = [], pause: number[] = [];
    const save: number[] = [], restore: number[] = [];
    let bytes = 0;
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      const s = await d.client.createSnapshot({
        meta: { name: `${name}-${i}` },
        spec: { vm: name, include_memory: true },
      });
      save.push(performance.now() - t0);
      pause.push(s.status!.pause_ms);
      bytes = s.status!.memory_bytes;
      t0 = performance.now();
      await d.client.restoreSnapshot({ ref: s.meta!.name });
      restore.push(performance.now() - t0);
      await answers(port, t0);

      await d.client.stopVm({ ref: name, force: true });
      t0 = performance.now();
      vm = await d.client.startVm({ ref: name });
      cold.push(await answers(port, t0));
      await d.client.stopVm({ ref: name, force: true });
      t0 = performance.now();
      vm = await d.client.startVm({ ref: name, from_snapshot: s.meta!.name });
      warm.push(await answers(port, t0));
    }
    await d.client.deleteVm({ ref: name, force: true, with_snapshots: true });
    const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
    console.log(
      `${memory} MiB of RAM, ${rounds} rounds (memory saved: ${(bytes / 2 ** 20).toFixed(0)} MiB):`,
    );
    console.log(
      `  snapshot with memory: call ${ms(median(save))} [${list(save)}], guest paused ${
        ms(median(pause))
      } [${list(pause)}]`,
    );
    console.log(`  restore into the running VM: ${ms(median(restore))} [${list(restore)}]`);
    console.log(
      `  to the first HTTP answer: cold start ${ms(median(cold))} [${
        list(cold)
      }], from the snapshot ${ms(median(warm))} [${list(warm)}]`,
    );
    console.log(
      `  ratio snapshot/cold = ${(median(warm) / median(cold)).toFixed(3)} (goal <= 0.4)`,
    );
  }
  // A checkpoint of 4 running VMs: the pause they see together, and the whole call.
  const names = ["c0", "c1", "c2", "c3"];
  for (const n of names) {
    const vm = await d.client.createVm({
      meta: { name: n, labels: { bench: "cp" } },
      spec: guestSpec(g),
    });
    await answers(vm.status!.port_forwards[0].host_port, performance.now());
  }
  const made: number[] = [], paused: number[] = [], back: number[] = [], backPaused: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    const cp = await d.client.createCheckpoint({
      meta: { name: `cp${i}` },
      spec: { label_selector: "bench=cp" },
    });
    made.push(performance.now() - t0);
    paused.push(cp.status!.pause_ms);
    t0 = performance.now();
    const r = await d.client.restoreCheckpoint({ ref: `cp${i}` });
    back.push(performance.now() - t0);
    backPaused.push(Number(r.status!.message.match(/paused (\d+) ms/)?.[1] ?? NaN));
    await d.client.deleteCheckpoint({ ref: `cp${i}` });
  }
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
  console.log(`checkpoint of 4 VMs of 256 MiB, ${rounds} rounds:`);
  console.log(
    `  create: ${ms(median(made))} [${list(made)}], the VMs paused together ${
      ms(median(paused))
    } [${list(paused)}]`,
  );
  console.log(
    `  restore: ${ms(median(back))} [${list(back)}], paused together ${ms(median(backPaused))} [${
      list(backPaused)
    }]`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
