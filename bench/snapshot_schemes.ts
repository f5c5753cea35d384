// bench/snapshot_schemes: the two ways to save a running VM with its memory (issue 16
// asks to measure both before choosing), on the test guest with raw QEMU and the
// product's own arguments, a 64 MiB qcow2 data disk attached:
//   internal  QMP snapshot-save / snapshot-load jobs: RAM and device state into the
//             qcow2 (vmstate), the disk as an internal snapshot; the VM is stopped for
//             the whole save;
//   external  memory by live migration to a file (pre-copy while the guest runs, a short
//             stop at the end), the disk by a new qcow2 overlay taken during that stop;
//             a restore is a new QEMU that takes the file with -incoming.
// Each beside a cold boot of the same guest in the same run.
// Usage: deno run -A bench/snapshot_schemes.ts [--memory 256,1024]
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { buildQemuArgs } from "../src/qemu/args.ts";
import { QmpClient } from "../src/qemu/qmp.ts";
import { normalizeVmSpec } from "../src/api/validate/vm.ts";
import { findQemuBinary } from "../src/qemu/host.ts";
import { guest, guestSpec, sleep } from "../tests/helpers/env.ts";
import { rawPaths, untilMarker } from "./lib.ts";

const argv = process.argv.slice(2);
const sizes = (argv.includes("--memory") ? argv[argv.indexOf("--memory") + 1] : "256,1024")
  .split(",").map(Number);
const g = guest("x86_64");
const ms = (x: number) => `${x.toFixed(0)} ms`;

interface Vm {
  child: ChildProcess;
  qmp: QmpClient;
  dir: string;
}

function args(dir: string, memory: number, disk: string, incoming?: string): string[] {
  const spec = normalizeVmSpec({
    ...guestSpec(g),
    memory_mb: memory,
    network: { mode: "none", port_forwards: [] },
    disks: [{ path: disk, format: "qcow2", read_only: false }],
    accelerator: "",
  } as never);
  const a = buildQemuArgs({
    id: randomUUID(),
    name: "snap",
    spec,
    accelerator: "tcg",
    ports: [],
    paths: rawPaths(dir),
    supervised: false,
  });
  return incoming ? [...a, "-incoming", incoming] : a;
}

async function launch(dir: string, argv: string[]): Promise<Vm> {
  const child = spawn(findQemuBinary("x86_64")!, argv, { stdio: "ignore" });
  const sock = join(dir, "qmp.sock");
  for (let i = 0;; i++) {
    try {
      return { child, dir, qmp: await QmpClient.connect(sock, 2000) };
    } catch (e) {
      if (i > 200) throw e;
      await sleep(25);
    }
  }
}

async function kill(vm: Vm) {
  vm.qmp.close();
  vm.child.kill("SIGKILL");
  if (vm.child.exitCode === null) await new Promise((r) => vm.child.once("exit", r));
}

async function jobDone(qmp: QmpClient, id: string) {
  for (;;) {
    const jobs = await qmp.execute<Array<{ id: string; status: string; error?: string }>>(
      "query-jobs",
    );
    const j = jobs.find((x) => x.id === id)!;
    if (j.status === "concluded") {
      await qmp.execute("job-dismiss", { id });
      if (j.error) throw new Error(`${id}: ${j.error}`);
      return;
    }
    await sleep(2);
  }
}

async function migrated(qmp: QmpClient) {
  for (;;) {
    const m = await qmp.execute<{ status: string; downtime?: number; "error-desc"?: string }>(
      "query-migrate",
    );
    if (m.status === "completed") return m.downtime ?? 0;
    if (m.status === "failed") throw new Error(`migration failed: ${m["error-desc"]}`);
    await sleep(2);
  }
}

/** The block node behind a -drive id (snapshot jobs name nodes, not drives). */
async function nodeOf(qmp: QmpClient, drive: string): Promise<string> {
  const blocks = await qmp.execute<Array<{ device: string; inserted?: { "node-name": string } }>>(
    "query-block",
  );
  return blocks.find((b) => b.device === drive)!.inserted!["node-name"];
}

const running = async (qmp: QmpClient) =>
  (await qmp.execute<{ status: string }>("query-status")).status;

async function untilRunning(qmp: QmpClient) {
  while ((await running(qmp)) !== "running") await sleep(2);
}

async function bootFresh(memory: number): Promise<Vm & { bootMs: number }> {
  const dir = mkdtempSync("/tmp/isb-snap-");
  const disk = join(dir, "data.qcow2");
  spawnSync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "64M"]);
  const t0 = performance.now();
  const vm = await launch(dir, args(dir, memory, disk));
  const bootMs = await untilMarker(join(dir, "serial.log"), t0);
  return { ...vm, bootMs };
}

for (const memory of sizes) {
  console.log(`${memory} MiB of RAM:`);
  // internal
  {
    const vm = await bootFresh(memory);
    try {
      console.log(`  cold boot to the ready marker: ${ms(vm.bootMs)}`);
      const node = await nodeOf(vm.qmp, "disk1");
      const t0 = performance.now();
      await vm.qmp.execute("snapshot-save", {
        "job-id": "save",
        tag: "s1",
        vmstate: node,
        devices: [node],
      });
      await jobDone(vm.qmp, "save");
      const save = performance.now() - t0;
      await vm.qmp.execute("cont").catch(() => {}); // running again, if the job left it stopped
      const t1 = performance.now();
      await vm.qmp.execute("snapshot-load", {
        "job-id": "load",
        tag: "s1",
        vmstate: node,
        devices: [node],
      }, 60_000);
      await jobDone(vm.qmp, "load");
      await vm.qmp.execute("cont").catch(() => {});
      await untilRunning(vm.qmp);
      const load = performance.now() - t1;
      const size = statSync(join(vm.dir, "data.qcow2")).size / 2 ** 20;
      console.log(
        `  internal: save ${ms(save)} (the guest stopped throughout), restore in place ${
          ms(load)
        }; qcow2 now ${size.toFixed(0)} MiB`,
      );
    } finally {
      await kill(vm);
      rmSync(vm.dir, { recursive: true, force: true });
    }
  }
  // external
  {
    const vm = await bootFresh(memory);
    const mem = join(vm.dir, "mem.bin");
    try {
      const t0 = performance.now();
      await vm.qmp.execute("migrate", { uri: `exec:cat > ${mem}` });
      const downtime = await migrated(vm.qmp);
      // Migration ended with the guest stopped: the disk's overlay is taken at that moment.
      const tStop = performance.now();
      await vm.qmp.execute("blockdev-snapshot-sync", {
        device: "disk1",
        "snapshot-file": join(vm.dir, "top.qcow2"),
        format: "qcow2",
      });
      await vm.qmp.execute("cont");
      await untilRunning(vm.qmp);
      const resumed = performance.now();
      const total = resumed - t0;
      const pause = downtime + (resumed - tStop);
      const size = statSync(mem).size / 2 ** 20;
      await kill(vm);
      // Restore: a new QEMU over a fresh overlay of the snapshot's disk, fed the file.
      const t1 = performance.now();
      const restoreDisk = join(vm.dir, "restore.qcow2");
      spawnSync("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        join(vm.dir, "data.qcow2"),
        restoreDisk,
      ]);
      const back = await launch(vm.dir, args(vm.dir, memory, restoreDisk, `exec:cat ${mem}`));
      await migrated(back.qmp).catch(async () => {
        // The destination reports its own state through query-status.
        while ((await running(back.qmp)) === "inmigrate") await sleep(2);
      });
      while ((await running(back.qmp)) === "inmigrate") await sleep(2);
      await back.qmp.execute("cont").catch(() => {});
      await untilRunning(back.qmp);
      const restore = performance.now() - t1;
      await kill(back);
      console.log(
        `  external: save ${ms(total)} (the guest stopped ${ms(pause)}, of which ${
          ms(downtime)
        } migration downtime), restore (a new QEMU) ${ms(restore)}; memory file ${
          size.toFixed(0)
        } MiB`,
      );
    } finally {
      vm.child.kill("SIGKILL");
      rmSync(vm.dir, { recursive: true, force: true });
    }
  }
}
