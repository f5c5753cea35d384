// Data sources derived from their resources: a computed copy of every attribute (id and
// name optional), blocks as lists of objects, renames and flattened blocks as each kind
// asks, and values read from the API object.
import assert from "node:assert/strict";
import type { InfrasimClient } from "../../src/api/client.ts";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { DATA_SOURCES, RESOURCES } from "../../src/provider/registry.ts";
import { NO_QOS, QOS_FIELDS } from "../../src/api/qos.ts";

const meta = (name: string): T.ObjectMeta => ({
  id: "5b0d7c52-3c1e-4f7a-9d8e-2a6b1c0e9f43",
  name,
  labels: {},
  annotations: {},
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  generation: 1,
  resource_version: 7,
});

const network: T.Network = {
  meta: meta("wan"),
  spec: { cidr: "10.20.0.0/24", mtu: 1500, link_qos: { latency_ms: 40 } },
  status: {
    state: "ACTIVE",
    message: "",
    prefix_length: 24,
    netmask: "255.255.255.0",
    engine_pid: 42,
    attachments: [{
      vm_id: "v",
      vm_name: "web",
      interface: 0,
      ip: "10.20.0.2",
      mac: "52:54:00:00:00:01",
      link_qos: {},
      state: "up",
    }],
  },
};

const client = { getNetwork: () => Promise.resolve(network) } as unknown as InfrasimClient;

Deno.test("every resource has a data source, each attribute a computed copy", () => {
  for (const [type, r] of Object.entries(RESOURCES)) {
    const d = DATA_SOURCES[type];
    assert.ok(d, `${type} has a data source`);
    const names = new Set(d.schema.attributes.map((a) => a.name));
    for (const a of r.schema.attributes) assert.ok(names.has(a.name), `${type}.${a.name}`);
    for (const a of d.schema.attributes) {
      assert.ok(a.computed, `${type}.${a.name} is computed`);
      assert.equal(!!a.optional, a.name === "id" || a.name === "name", `${type}.${a.name}`);
      assert.ok(!a.required && !a.forceNew && a.default === undefined);
    }
    assert.ok(!names.has("timeouts"));
  }
  const vm = DATA_SOURCES.infrasim_vm.schema.attributes.map((a) => a.name);
  assert.ok(vm.includes("port_forwards") && !vm.includes("port_forward"), "renamed as before");
  const ni = DATA_SOURCES.infrasim_vm.schema.attributes.find((a) =>
    a.name === "network_interface"
  )!;
  assert.deepEqual((ni.type as [string, [string, Record<string, unknown>]])[1][1].link_qos, [
    "list",
    [
      "object",
      Object.fromEntries(
        QOS_FIELDS.map((f) => [f.name, f.kind === "choice" ? "string" : "number"]),
      ),
    ],
  ]);
});

Deno.test("infrasim_network data source: link_qos as one object, unset fields their default; attachments", async () => {
  const o = await DATA_SOURCES.infrasim_network.read(client, { name: "wan", id: null });
  assert.deepEqual(o.link_qos, { ...NO_QOS, latency_ms: 40 });
  assert.equal((o.link_qos as Record<string, unknown>).delay_distribution, "uniform");
  assert.deepEqual(o.labels, {}, "an unset map reads as empty");
  assert.equal(o.netmask, "255.255.255.0");
  assert.deepEqual(o.attachments, [
    { vm_id: "v", vm_name: "web", ip: "10.20.0.2", mac: "52:54:00:00:00:01", state: "up" },
  ]);
  const names = DATA_SOURCES.infrasim_network.schema.attributes.map((a) => a.name);
  assert.deepEqual(Object.keys(o).sort(), [...names].sort(), "every attribute, no other");
});
