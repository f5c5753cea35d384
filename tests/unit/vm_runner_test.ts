// VmRunner against a fake QEMU (a script that daemonizes like -daemonize) and a fake
// runtime: whatever fails after the launch (QMP attach, `cont`), the launched process
// is killed and forgotten, never left running unsupervised.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/store/db.ts";
import { ProcessStore } from "../../src/store/processes.ts";
import { VmStore } from "../../src/store/vm_store.ts";
import { Supervisor } from "../../src/daemon/supervisor/supervisor.ts";
import { scanProcesses } from "../../src/process/os.ts";
import { Claims } from "../../src/daemon/claims.ts";
import { KeyedMutex } from "../../src/daemon/locks.ts";
import { QEMU, VmRunner } from "../../src/daemon/controllers/vm/runner.ts";
import { VmRuntimes } from "../../src/daemon/controllers/vm/runtimes.ts";
import { VM } from "../../src/daemon/contracts.ts";
import { DataLayout } from "../../src/daemon/layout.ts";
import { ChangeFeed } from "../../src/store/feed.ts";
import { newMeta } from "../../src/daemon/controllers/common.ts";
import { emptyStatus } from "../../src/daemon/controllers/vm/records.ts";
import { kernelSpec } from "../fakes/daemon.ts";
import { defaults } from "../../src/daemon/config.ts";
import type { VmRuntime } from "../../src/qemu/runtime.ts";
import type { HostInfo } from "../../src/qemu/host.ts";

/** A "qemu-system-x86_64" that daemonizes: its child carries every argument (the run dir). */
const FAKE_QEMU = `#!/bin/bash
pidfile=""; prev=""
for a in "$@"; do [ "$prev" = "-pidfile" ] && pidfile=$a; prev=$a; done
nohup bash -c 'sleep 300; :' "$@" >/dev/null 2>&1 &
echo $! > "$pidfile"
`;

type Attach = typeof VmRuntime.attach;

async function withRunner(
  attach: Attach,
  fn: (r: VmRunner, ctx: { store: VmStore; procs: ProcessStore; dir: string }) => Promise<void>,
) {
  const dir = mkdtempSync("/tmp/isd-run-");
  const db = openDatabase(join(dir, "state.db"));
  const qemu = join(dir, "qemu-system-x86_64");
  writeFileSync(qemu, FAKE_QEMU);
  chmodSync(qemu, 0o755);
  const config = { ...defaults(), data_dir: dir };
  const host: HostInfo = {
    binaries: { x86_64: { path: qemu, version: "fake" } },
    accelerators: { x86_64: "tcg", aarch64: "tcg" },
    kvm: false,
  };
  const store = new VmStore(db, new ChangeFeed(db));
  const procs = new ProcessStore(db);
  const claims = new Claims(new KeyedMutex(), config.ports, () => undefined);
  const runner = new VmRunner(
    store,
    new Supervisor(procs),
    host,
    config,
    claims,
    new DataLayout(dir),
    new VmRuntimes(),
    {
      prepare: () => Promise.resolve({ volumes: [] }),
      started: () => {},
      released: () => Promise.resolve(),
      adopted: () => Promise.resolve(),
    },
    attach,
  );
  try {
    await fn(runner, { store, procs, dir });
  } finally {
    const { orphans } = await scanProcesses([], (argv) => argv.some((a) => a.includes(dir)));
    for (const pid of orphans) process.kill(pid, "SIGKILL");
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function insertVm(store: VmStore): string {
  const id = crypto.randomUUID();
  store.insertWithPorts({
    meta: newMeta(id, "fake", { labels: {}, annotations: {} }),
    spec: kernelSpec({ power_state: "POWER_ON" }),
    status: emptyStatus(""),
  }, []);
  return id;
}

async function assertNothingLeft(dir: string, procs: ProcessStore, id: string) {
  const run = `${dir}/vms/${id}/`;
  const { orphans } = await scanProcesses([], (argv) => argv.some((a) => a.includes(run)));
  assert.deepEqual(orphans, [], "the launched process was killed");
  assert.equal(procs.get({ kind: VM, id }, QEMU), undefined, "and forgotten");
}

Deno.test("VmRunner: a QEMU whose `cont` fails is killed and the VM is ERROR", async () => {
  let attachedPid = 0;
  const attach: Attach = (pid) => {
    attachedPid = pid;
    const fake = {
      pid,
      running: true,
      responsive: true,
      exited: new Promise(() => {}),
      watch: { running: true },
      qmp: { execute: (cmd: string) => Promise.reject(new Error(`QMP ${cmd}: no answer`)) },
      detach() {},
    };
    return Promise.resolve(fake as unknown as VmRuntime);
  };
  await withRunner(attach, async (runner, { store, procs, dir }) => {
    const id = insertVm(store);
    await assert.rejects(runner.start(id), /QMP cont: no answer/);
    assert.ok(attachedPid > 0, "QEMU was launched and attached");
    assert.equal(store.get(id)!.status.state, "ERROR");
    assert.equal(runner.runtime(id), undefined);
    await assertNothingLeft(dir, procs, id);
  });
});

Deno.test("VmRunner: a QEMU whose QMP never answers is killed and the VM is ERROR", async () => {
  const attach: Attach = () => Promise.reject(new Error("QMP: no greeting within 5000 ms"));
  await withRunner(attach, async (runner, { store, procs, dir }) => {
    const id = insertVm(store);
    await assert.rejects(runner.start(id), /no greeting/);
    assert.equal(store.get(id)!.status.state, "ERROR");
    assert.match(store.get(id)!.status.message, /no greeting/);
    await assertNothingLeft(dir, procs, id);
  });
});
