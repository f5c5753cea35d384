// The VM controller against fakes of its collaborators (a recording runner and links),
// on real stores: what it claims, when it restarts, what it refuses, and which changes
// (its own and the volumes' and networks' it takes part in) reach the feed.
import assert from "node:assert/strict";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { ApiError, Status } from "../../src/api/errors.ts";
import { VmController } from "../../src/daemon/controllers/vm/controller.ts";
import type { VmLinks } from "../../src/daemon/controllers/vm/links.ts";
import type { VmRunner } from "../../src/daemon/controllers/vm/runner.ts";
import type { Supervisor } from "../../src/daemon/supervisor/supervisor.ts";
import { HOST, kernelSpec, Stores } from "../fakes/daemon.ts";

/** Records what it is asked; a started VM is RUNNING until stopped. */
class FakeRunner {
  calls: string[] = [];
  running = new Set<string>();
  constructor(private readonly s: Stores) {}
  runtime(id: string) {
    return this.running.has(id) ? ({} as never) : undefined;
  }
  start(id: string) {
    this.calls.push(`start ${this.s.vms.get(id)!.meta.name}`);
    this.running.add(id);
    this.s.vms.patchStatus(id, { state: "RUNNING" });
    return Promise.resolve();
  }
  stop(id: string, force: boolean, _t: number, why = "stopped") {
    if (!this.running.delete(id)) return Promise.resolve();
    this.calls.push(`stop ${this.s.vms.get(id)!.meta.name} ${why}${force ? " forced" : ""}`);
    this.s.vms.patchStatus(id, { state: "STOPPED" });
    return Promise.resolve();
  }
}

class FakeLinks {
  calls: string[] = [];
  refresh(id: string) {
    this.calls.push(`refresh ${id}`);
  }
  apply(id: string) {
    this.calls.push(`apply ${id}`);
    return Promise.resolve();
  }
  detachAll() {}
}

const C = (r: object) => r as T.CreateVmRequest;
const U = (r: object) => r as T.UpdateVmRequest;

function setup() {
  const s = new Stores();
  const runner = new FakeRunner(s);
  const links = new FakeLinks();
  const vms = new VmController(
    s.vms,
    s.refs,
    { record: () => undefined } as unknown as Supervisor,
    s.locks,
    s.claims,
    s.config,
    HOST,
    s.layout,
    runner as unknown as VmRunner,
    links as unknown as VmLinks,
    s.volumes,
    s.networks,
    s.projections,
    { start: () => {}, resume: () => {}, stop: () => {} },
    s.feed,
    {
      deleteAllOf: () => Promise.resolve(),
      assertDeletable: () => {},
      startFrom: () => {
        throw new Error("no snapshots here");
      },
    },
  );
  return { s, runner, links, vms };
}

const spec = kernelSpec;

function volume(s: Stores, name: string): string {
  const t = new Date().toISOString();
  const id = crypto.randomUUID();
  s.volumes.insert({
    meta: {
      id,
      name,
      labels: {},
      annotations: {},
      created_at: t,
      updated_at: t,
      generation: 1,
      resource_version: 0,
    },
    spec: { image: "", size_gb: 1 },
    status: {
      path: `/x/${id}`,
      format: "qcow2",
      size_bytes: 1 << 30,
      image_id: "",
      attached_to: "",
      attached_to_name: "",
    },
  });
  return id;
}

Deno.test("vm controller: a bad name and a bad spec are reported together", async () => {
  const { s, vms } = setup();
  try {
    await assert.rejects(
      vms.create(C({ meta: { name: "Web!" }, spec: { ...spec(), memory_mb: 1, cpu_cores: 999 } })),
      (e: ApiError) => {
        assert.equal(e.code, Status.INVALID_ARGUMENT);
        assert.deepEqual(e.violations.map((v) => v.field), [
          "meta.name",
          "spec.cpu_cores",
          "spec.memory_mb",
        ]);
        return true;
      },
    );
    assert.deepEqual(s.said(), [], "nothing was created");
  } finally {
    s.close();
  }
});

Deno.test("vm controller: a volume is claimed, shown on the volume, refused to a second writer", async () => {
  const { s, vms } = setup();
  try {
    const vol = volume(s, "data");
    const a = await vms.create(C({
      meta: { name: "a" },
      spec: spec({ volumes: [{ volume: "data", read_only: false }] }),
    }));
    assert.equal(s.volumes.get(vol)!.status.attached_to_name, "a", "stored, not computed on read");
    await assert.rejects(
      vms.create(C({
        meta: { name: "b" },
        spec: spec({ volumes: [{ volume: "data", read_only: false }] }),
      })),
      (e: ApiError) => {
        assert.equal(e.code, Status.FAILED_PRECONDITION);
        assert.deepEqual(e.violations.map((v) => v.field), ["spec.volumes[0].volume"]);
        return true;
      },
    );
    await vms.delete(a.meta.id, false);
    assert.equal(s.volumes.get(vol)!.status.attached_to, "", "released with its VM");
    assert.deepEqual(s.said(), [
      "ADDED VOLUME data",
      "ADDED VM a",
      "MODIFIED VOLUME data",
      "DELETED VM a",
      "MODIFIED VOLUME data",
    ]);
  } finally {
    s.close();
  }
});

function network(s: Stores, name: string, cidr: string): void {
  const t = new Date().toISOString();
  s.networks.insert({
    meta: {
      id: crypto.randomUUID(),
      name,
      labels: {},
      annotations: {},
      created_at: t,
      updated_at: t,
      generation: 1,
      resource_version: 0,
    },
    spec: { cidr, mtu: 1500, link_qos: {} },
    status: {
      state: "ACTIVE",
      message: "",
      prefix_length: 24,
      netmask: "255.255.255.0",
      attachments: [],
      engine_pid: 0,
    },
  });
}

Deno.test("vm controller: hardware changes restart a running VM; a link's QoS alone does not", async () => {
  const { s, runner, links, vms } = setup();
  try {
    network(s, "wan", "10.7.0.0/24");
    const nic = { network: "wan", ip: "", mac: "", link_qos: {}, link_state: "" };
    const vm = await vms.create(
      C({
        meta: { name: "web" },
        spec: spec({ power_state: "POWER_ON", network_interfaces: [nic] }),
      }),
    );
    assert.match(vm.spec.network_interfaces[0].ip, /^10\.7\.0\.\d+$/, "an address was claimed");
    assert.deepEqual(runner.calls, ["start web"]);
    await vms.update(U({ ref: "web", spec: { ...vm.spec, memory_mb: 512 } }));
    assert.deepEqual(runner.calls.slice(1), ["stop web restarted", "start web"]);
    runner.calls.length = 0;
    const cur = vms.get("web").spec;
    const slower = [{ ...cur.network_interfaces[0], link_qos: { latency_ms: 20 } }];
    await vms.update(U({ ref: "web", spec: { ...cur, network_interfaces: slower } }));
    assert.deepEqual(runner.calls, [], "nothing restarts");
    assert.deepEqual(links.calls.filter((c) => c.startsWith("apply")), [`apply ${vm.meta.id}`]);
    await vms.update(
      U({ ref: "web", meta: { labels: { tier: "front" } }, spec: vms.get("web").spec }),
    );
    assert.deepEqual(runner.calls, [], "labels change nothing that runs");
    assert.equal(vms.get("web").meta.generation, 4);
  } finally {
    s.close();
  }
});

Deno.test("vm controller: a running VM is deleted only with force, and stopped first", async () => {
  const { s, runner, vms } = setup();
  try {
    await vms.create(C({ meta: { name: "web" }, spec: spec({ power_state: "POWER_ON" }) }));
    await assert.rejects(vms.delete("web", false), /is running; stop it first/);
    assert.ok(vms.get("web"));
    await vms.delete("web", true);
    assert.deepEqual(runner.calls, ["start web", "stop web deleted forced"]);
    assert.equal(s.vms.getByName("web"), undefined);
  } finally {
    s.close();
  }
});

Deno.test("vm controller: names and forwarded host ports are never shared", async () => {
  const { s, vms } = setup();
  try {
    const net = {
      mode: "user",
      port_forwards: [{ protocol: "tcp", host_port: 0, guest_port: 80 }],
    };
    const [a, b] = await Promise.all([
      vms.create(C({ meta: { name: "a" }, spec: spec({ network: net }) })),
      vms.create(C({ meta: { name: "b" }, spec: spec({ network: net }) })),
    ]);
    assert.notEqual(a.status.port_forwards[0].host_port, b.status.port_forwards[0].host_port);
    await assert.rejects(vms.create(C({ meta: { name: "a" }, spec: spec() })), (e: ApiError) => {
      assert.equal(e.code, Status.ALREADY_EXISTS);
      assert.deepEqual(e.violations.map((v) => v.field), ["meta.name"]);
      return true;
    });
  } finally {
    s.close();
  }
});
