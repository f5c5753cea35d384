// infrasimd survives its own kill -9 at the worst moments without losing, doubling or
// stranding a VM.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  e2eTest,
  guest,
  guestSpec,
  httpGet,
  qemuPids,
  qemuPidsIn,
  READY,
  type TestDaemon,
  waitFor,
} from "../helpers/env.ts";
import type * as T from "../../src/api/gen/infrasim.v1.ts";

/** 0 lost, 0 duplicate, 0 stray: every VM is listed, and each QEMU is exactly its VM's. */
async function checkInvariants(d: TestDaemon, ids: string[], when: string): Promise<T.Vm[]> {
  const vms = (await d.client.listVms({ label_selector: "" })).vms;
  assert.deepEqual(vms.map((v) => v.meta!.id).sort(), [...ids].sort(), `${when}: VMs lost`);
  const tracked: number[] = [];
  for (const v of vms) {
    const pids = qemuPids(v.meta!.id);
    assert.ok(pids.length <= 1, `${when}: ${v.meta!.name} has ${pids.length} QEMUs`);
    if (v.status!.state === "RUNNING") {
      assert.deepEqual(pids, [v.status!.pid], `${when}: ${v.meta!.name} RUNNING`);
      tracked.push(v.status!.pid);
    } else {
      assert.deepEqual(pids, [], `${when}: ${v.meta!.name} is ${v.status!.state} with a QEMU`);
    }
  }
  assert.deepEqual(qemuPidsIn(d.dataDir), tracked.sort((a, b) => a - b), `${when}: stray QEMU`);
  return vms;
}

e2eTest(
  "kill -9 cycles: 6 VMs, 10 kills while launching, while adopting and idle: 0 lost, 0 duplicate, 0 stray",
  async (d) => {
    const g = guest("x86_64");
    const created: T.Vm[] = [];
    for (let i = 0; i < 6; i++) {
      created.push(await d.client.createVm({ meta: { name: `k${i}` }, spec: guestSpec(g) }));
    }
    for (const vm of created) await d.waitSerial(vm, READY);
    const ids = created.map((v) => v.meta!.id);
    const kinds = { launch: 0, adopt: 0, idle: 0 };
    for (let cycle = 0; cycle < 10; cycle++) {
      const kind = (["launch", "adopt", "idle"] as const)[cycle % 3];
      kinds[kind]++;
      if (kind === "launch") {
        // Kill the daemon the moment the new QEMU exists, while it is being launched.
        const vm = created[cycle % 6];
        await d.client.stopVm({ ref: vm.meta!.id, force: true });
        const start = d.client.startVm(vm.meta!.id).catch((e) => e);
        await waitFor("the new qemu", () => qemuPids(vm.meta!.id).length > 0, 20_000, 1);
        await d.kill9();
        await start;
      } else if (kind === "adopt") {
        await d.kill9();
        await d.launch({ wait: false });
        await waitFor("the API socket", () => existsSync(d.socket), 10_000, 1);
        await d.kill9();
      } else {
        await d.kill9();
      }
      await d.launch();
      const vms = await checkInvariants(d, ids, `cycle ${cycle} (${kind})`);
      for (const v of vms) {
        if (v.status!.state !== "RUNNING") {
          const started = await d.client.startVm(v.meta!.id);
          assert.equal(started.status!.state, "RUNNING", started.status!.message);
        }
      }
      await checkInvariants(d, ids, `cycle ${cycle} (${kind}), restarted`);
    }
    assert.deepEqual(kinds, { launch: 4, adopt: 3, idle: 3 });
    for (const v of (await d.client.listVms({ label_selector: "" })).vms) {
      assert.equal(
        await httpGet(v.status!.port_forwards[0].host_port, 90_000),
        "infrasim-guest-ok",
        v.meta!.name,
      );
    }
  },
);
