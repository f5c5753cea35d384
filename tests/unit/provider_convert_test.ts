// infrasim_vm without a daemon: API VM -> Terraform object conversion.
import assert from "node:assert/strict";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { UNKNOWN } from "../../src/provider/framework/cty.ts";
import { nullObject } from "../../src/provider/framework/schema.ts";
import { objectFromVm } from "../../src/provider/resources/vm/convert.ts";
import { VM_SCHEMA } from "../../src/provider/resources/vm/schema.ts";
import {
  assertAllAttributes,
  config,
  disk,
  FILE,
  HOST_ARCH,
  HOST_MACHINE,
  type Obj,
  pf,
  planVm,
} from "./provider_fixtures.ts";

// ---- objectFromVm ----

function apiVm(
  over: { meta?: Partial<T.ObjectMeta>; spec?: Partial<T.VmSpec>; status?: Partial<T.VmStatus> } =
    {},
): T.Vm {
  return {
    meta: {
      id: "0b5e3c1e-7f55-4d0c-9d5e-3a4b7c1f2e10",
      name: "web",
      labels: {},
      annotations: {},
      created_at: "2025-01-02T03:04:05Z",
      updated_at: "2025-01-02T03:04:05Z",
      generation: 1,
      resource_version: 1,
      ...over.meta,
    },
    spec: {
      arch: "x86_64",
      machine: "q35",
      cpu_cores: 2,
      memory_mb: 1024,
      boot: { source: "kernel", kernel: { kernel_path: FILE, initrd_path: "", cmdline: "" } },
      disks: [],
      network: { mode: "user", port_forwards: [] },
      volumes: [],
      network_interfaces: [],
      accelerator: "",
      power_state: "POWER_ON",
      ...over.spec,
    },
    status: {
      state: "RUNNING",
      accelerator: "kvm",
      pid: 1234,
      last_exit_reason: "",
      serial_log_path: "/home/u/.infrasim/vms/0b5e/serial.log",
      vnc_socket_path: "",
      restored_at: "",
      restored_from: "",
      port_forwards: [],
      started_at: "2025-01-02T03:04:06Z",
      message: "",
      observed_generation: 1,
      qemu_binary: "/usr/bin/qemu-system-x86_64",
      links: [],
      ready: true,
      ready_at: "2025-01-02T03:04:16Z",
      ...over.status,
    },
  };
}

Deno.test("objectFromVm: maps every attribute of a running VM", () => {
  const o = objectFromVm(apiVm({ meta: { labels: { env: "test" } } }), null);
  assertAllAttributes(o);
  assert.deepEqual(o, {
    id: "0b5e3c1e-7f55-4d0c-9d5e-3a4b7c1f2e10",
    name: "web",
    arch: "x86_64",
    machine: "q35",
    cpu_cores: 2,
    memory_mb: 1024,
    kernel: FILE,
    initrd: null,
    cmdline: null,
    boot_disk: null,
    boot_volume: null,
    labels: { env: "test" },
    running: true,
    accelerator: "kvm",
    state: "RUNNING",
    serial_log: "/home/u/.infrasim/vms/0b5e/serial.log",
    vnc_socket: null,
    created_at: "2025-01-02T03:04:05Z",
    disk: [],
    display: "none",
    port_forward: [],
    volume: [],
    cloud_init: [],
    wait_for: [],
    ssh_host_key: null,
    network_interface: [],
    timeouts: null,
  });
});

Deno.test("objectFromVm: empty cmdline/initrd/labels are null unless the prior had ''/{}", () => {
  const vm = apiVm();
  const fromNull = objectFromVm(vm, null);
  assert.equal(fromNull.initrd, null);
  assert.equal(fromNull.cmdline, null);
  assert.equal(fromNull.labels, null);
  const fromNullPrior = objectFromVm(vm, nullObject(VM_SCHEMA));
  assert.equal(fromNullPrior.initrd, null);
  assert.equal(fromNullPrior.cmdline, null);
  assert.equal(fromNullPrior.labels, null);
  const fromEmpty = objectFromVm(vm, {
    ...nullObject(VM_SCHEMA),
    initrd: "",
    cmdline: "",
    labels: {},
  });
  assert.equal(fromEmpty.initrd, "");
  assert.equal(fromEmpty.cmdline, "");
  assert.deepEqual(fromEmpty.labels, {});
});

Deno.test("objectFromVm: non-empty values win over the prior", () => {
  const vm = apiVm({
    meta: { labels: { a: "1" } },
    spec: { boot: { kernel: { kernel_path: FILE, initrd_path: "/i", cmdline: "quiet" } } },
  });
  const o = objectFromVm(vm, { ...nullObject(VM_SCHEMA), initrd: "", cmdline: "x", labels: {} });
  assert.equal(o.initrd, "/i");
  assert.equal(o.cmdline, "quiet");
  assert.deepEqual(o.labels, { a: "1" });
});

Deno.test("objectFromVm: running only for RUNNING and STARTING", () => {
  const states: T.VmState[] = [
    "PENDING",
    "STARTING",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "CRASHED",
    "ERROR",
  ];
  for (const state of states) {
    const o = objectFromVm(apiVm({ status: { state } }), null);
    assert.equal(o.running, state === "RUNNING" || state === "STARTING", state);
    assert.equal(o.state, state);
  }
});

Deno.test("objectFromVm: an empty accelerator (stopped VM) is null", () => {
  const o = objectFromVm(apiVm({ status: { state: "STOPPED", accelerator: "" } }), null);
  assert.equal(o.accelerator, null);
  assert.equal(o.running, false);
});

Deno.test("objectFromVm: port_forward host_port comes from status.port_forwards", () => {
  const vm = apiVm({
    spec: {
      network: {
        mode: "user",
        port_forwards: [
          { protocol: "tcp", guest_port: 22, host_port: 0 },
          { protocol: "udp", guest_port: 53, host_port: 5353 },
          { protocol: "tcp", guest_port: 80, host_port: 0 },
        ],
      },
    },
    status: {
      port_forwards: [
        { protocol: "udp", guest_port: 53, host_port: 5353 },
        { protocol: "tcp", guest_port: 22, host_port: 40022 },
        { protocol: "udp", guest_port: 80, host_port: 49999 }, // other protocol: no match
      ],
    },
  });
  assert.deepEqual(objectFromVm(vm, null).port_forward, [
    { guest_port: 22, host_port: 40022, protocol: "tcp" },
    { guest_port: 53, host_port: 5353, protocol: "udp" },
    { guest_port: 80, host_port: null, protocol: "tcp" },
  ]);
});

Deno.test("objectFromVm: disks, boot disk, and timeouts kept from the prior", () => {
  const vm = apiVm({
    spec: {
      boot: { source: "disk", disk: { path: "/img/boot.qcow2", format: "", firmware_path: "" } },
      disks: [
        { path: "/img/a.qcow2", format: "qcow2", read_only: false },
        { path: "/img/b.raw", format: "", read_only: true },
      ],
    },
  });
  const timeouts = { create: "20m", update: null, delete: null };
  const prior = { ...nullObject(VM_SCHEMA), timeouts };
  const o = objectFromVm(vm, prior);
  assert.equal(o.kernel, null);
  assert.equal(o.initrd, null);
  assert.equal(o.cmdline, null);
  assert.equal(o.boot_disk, "/img/boot.qcow2");
  assert.deepEqual(o.disk, [
    { path: "/img/a.qcow2", format: "qcow2", read_only: false },
    { path: "/img/b.raw", format: null, read_only: true },
  ]);
  assert.deepEqual(o.timeouts, timeouts);
  // An empty disk format the prior spelled "" stays "".
  const o2 = objectFromVm(vm, {
    ...prior,
    disk: [disk("/img/a.qcow2"), disk("/img/b.raw", { format: "" })],
  });
  assert.equal((o2.disk as Obj[])[1].format, "");
});

Deno.test("objectFromVm: the state of a fresh create satisfies its plan", () => {
  const cfg = config({ port_forward: [pf(22)] });
  const { planned } = planVm(null, cfg, cfg);
  const vm = apiVm({
    spec: {
      arch: HOST_ARCH,
      machine: HOST_MACHINE,
      cpu_cores: 1,
      memory_mb: 512,
      network: { mode: "user", port_forwards: [{ protocol: "tcp", guest_port: 22, host_port: 0 }] },
    },
    status: { port_forwards: [{ protocol: "tcp", guest_port: 22, host_port: 40022 }] },
  });
  const state = objectFromVm(vm, planned);
  for (const [k, v] of Object.entries(planned)) {
    if (v === UNKNOWN) continue;
    if (k === "port_forward") continue;
    assert.deepEqual(state[k], v, k);
  }
  assert.deepEqual(state.port_forward, [{ guest_port: 22, host_port: 40022, protocol: "tcp" }]);
});
