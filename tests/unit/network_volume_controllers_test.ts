// The network and volume controllers against fakes of their collaborators: a supervisor
// whose "engines" are sleep processes, a recording observer in place of the VMs' links,
// and a recording resize in place of a running VM's QEMU.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { type ApiError, Status } from "../../src/api/errors.ts";
import { NetworkController } from "../../src/daemon/controllers/network.ts";
import { LinkEngines } from "../../src/daemon/controllers/network_engine.ts";
import { VolumeController } from "../../src/daemon/controllers/volume.ts";
import type { NetworkObserver } from "../../src/daemon/contracts.ts";
import { SleepSupervisor, Stores } from "../fakes/daemon.ts";

const GIB = 1024 ** 3;

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

class RecordingObserver implements NetworkObserver {
  calls: string[] = [];
  qosChanged(id: string) {
    this.calls.push(`qos ${id}`);
    return Promise.resolve();
  }
}

function networks() {
  const s = new Stores();
  const sup = new SleepSupervisor(s.processes);
  const observer = new RecordingObserver();
  const nets = new NetworkController(
    s.networks,
    s.refs,
    s.locks,
    s.claims,
    new LinkEngines(s.networks, sup.asSupervisor(), s.locks, s.layout),
    s.layout,
    s.nameOf,
    observer,
  );
  return { s, sup, observer, nets };
}

const createNet = (nets: NetworkController, name: string, cidr: string) =>
  nets.create({ meta: { name }, spec: { cidr } } as unknown as T.CreateNetworkRequest);
const updateNet = (nets: NetworkController, r: object) => nets.update(r as T.UpdateNetworkRequest);

Deno.test("network controller: the engine runs; a QoS change is told to the links, labels are not", async () => {
  const { s, sup, observer, nets } = networks();
  try {
    const n = await createNet(nets, "wan", "10.8.0.0/24");
    assert.equal(n.status.state, "ACTIVE");
    assert.equal(n.status.engine_pid, sup.launched.length && s.processes.list()[0].pid);
    assert.equal(n.status.netmask, "255.255.255.0", "stored, not computed on read");
    await updateNet(nets, { ref: "wan", meta: { labels: { a: "b" } } });
    assert.deepEqual(observer.calls, []);
    await updateNet(nets, {
      ref: "wan",
      spec: { cidr: "10.8.0.0/24", link_qos: { loss_percent: 1 } },
    });
    assert.deepEqual(observer.calls, [`qos ${n.meta.id}`]);
    nets.detachAll();
  } finally {
    for (const r of s.processes.list()) await sup.reap(r);
    s.close();
  }
});

Deno.test("network controller: an engine that dies is started again", async () => {
  const { s, sup, observer, nets } = networks();
  try {
    const n = await createNet(nets, "wan", "10.9.0.0/24");
    const first = n.status.engine_pid;
    process.kill(first, "SIGKILL");
    await waitFor("the engine restarted", () => {
      const st = nets.get("wan").status;
      return st.state === "ACTIVE" && st.engine_pid !== first;
    }, 5000);
    assert.deepEqual(observer.calls, [], "links need nothing: the engine reads its file");
    const now = nets.get("wan");
    assert.equal(now.status.state, "ACTIVE");
    assert.notEqual(now.status.engine_pid, first);
    const states = s.changes.filter((c) => c.kind === "NETWORK").map((c) =>
      (c.object.status as T.PrivateNetworkStatus).state
    );
    assert.deepEqual(states.slice(-2), ["STARTING", "ACTIVE"], "watchers see it go and come back");
    nets.detachAll();
  } finally {
    for (const r of s.processes.list()) await sup.reap(r);
    s.close();
  }
});

Deno.test("network controller: in use, its cidr is fixed and it cannot be deleted", async () => {
  const { s, sup, nets } = networks();
  try {
    const n = await createNet(nets, "wan", "10.10.0.0/24");
    s.refs.set({ kind: "VM", id: "vm-1" }, [
      { field: "spec.network_interfaces[0].network", kind: "NETWORK", id: n.meta.id },
    ]);
    await assert.rejects(
      updateNet(nets, { ref: "wan", spec: { cidr: "10.11.0.0/24" } }),
      (e: ApiError) => {
        assert.equal(e.code, Status.FAILED_PRECONDITION);
        assert.deepEqual(e.violations.map((v) => v.field), ["spec.cidr"]);
        return true;
      },
    );
    await assert.rejects(nets.delete("wan"), /is in use by vm "vm-1"/);
    s.refs.clear({ kind: "VM", id: "vm-1" });
    await nets.delete("wan");
    assert.equal(sup.reaped.length, 1, "its switch was stopped");
    assert.ok(!existsSync(s.layout.netDir(n.meta.id)));
  } finally {
    for (const r of s.processes.list()) await sup.reap(r);
    s.close();
  }
});

Deno.test("volume controller: growing a held volume goes through its VM; shrinking is refused", async () => {
  const s = new Stores();
  const resizes: string[] = [];
  const vols = new VolumeController(
    s.volumes,
    s.images,
    s.refs,
    s.locks,
    s.claims,
    s.layout,
    "/usr/bin/qemu-img",
    s.nameOf,
    (vm, vol, size) => {
      resizes.push(`${vm} ${vol} ${size}`);
      return Promise.resolve();
    },
  );
  try {
    await vols.init();
    const v = await vols.create({ meta: { name: "data" }, spec: { size_gb: 1 } } as never);
    assert.equal(v.status.size_bytes, GIB);
    s.refs.set({ kind: "VM", id: "vm-1" }, [{
      field: "spec.volumes[0].volume",
      kind: "VOLUME",
      id: v.meta.id,
    }]);
    const grown = await vols.update({ ref: "data", spec: { size_gb: 2 } } as never);
    assert.deepEqual(resizes, [`vm-1 ${v.meta.id} ${2 * GIB}`]);
    assert.equal(grown.status.size_bytes, 2 * GIB);
    await assert.rejects(
      vols.update({ ref: "data", spec: { size_gb: 1 } } as never),
      (e: ApiError) => {
        assert.deepEqual(e.violations.map((x) => x.field), ["spec.size_gb"]);
        assert.match(e.message, /cannot shrink volume "data" from 2 GiB to 1 GiB/);
        return true;
      },
    );
    assert.deepEqual(
      s.changes.map((c) => `${c.type} ${(c.object.status as T.VolumeStatus).size_bytes / GIB}`),
      ["ADDED 1", "MODIFIED 2"],
    );
  } finally {
    s.close();
  }
});
