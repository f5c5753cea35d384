// API input validation: defaults are filled; errors are INVALID_ARGUMENT led by the field path.
import assert from "node:assert/strict";
import { normalizeVmSpec as normalizeSpec } from "../../src/api/validate/vm.ts";
import { assertInvalid } from "./invalid_fixture.ts";
import type { VmSpec } from "../../src/api/gen/infrasim.v1.ts";

const KERNEL = {
  kernel_path: "/g/vmlinuz",
  initrd_path: "/g/initrd.img",
  cmdline: "console=ttyS0",
};

// A minimal valid spec as it arrives from the wire (proto3 defaults for unset fields).
function wire(extra: Partial<VmSpec> = {}): VmSpec {
  return {
    arch: "x86_64",
    machine: "",
    cpu_cores: 0,
    memory_mb: 256,
    boot: { kernel: { ...KERNEL } },
    disks: [],
    network: null,
    volumes: [],
    network_interfaces: [],
    accelerator: "",
    power_state: "POWER_STATE_UNSPECIFIED",
    ...extra,
  };
}

// ---- defaults ----

Deno.test("normalizeSpec fills defaults for x86_64", () => {
  const n = normalizeSpec(wire());
  assert.deepEqual(n, {
    arch: "x86_64",
    machine: "q35",
    cpu_cores: 1,
    memory_mb: 256,
    boot: { source: "kernel", kernel: KERNEL },
    disks: [],
    network: { mode: "user", port_forwards: [] },
    accelerator: "",
    power_state: "POWER_OFF",
    volumes: [],
    cloud_init: null,
    wait_for: null,
    network_interfaces: [],
  });
});

Deno.test("normalizeSpec: aarch64 defaults to the virt machine", () => {
  assert.equal(normalizeSpec(wire({ arch: "aarch64" })).machine, "virt");
  assert.equal(normalizeSpec(wire({ arch: "aarch64", machine: "virt-9.0" })).machine, "virt-9.0");
  assert.equal(normalizeSpec(wire({ machine: "pc" })).machine, "pc");
});

Deno.test("normalizeSpec: power_state POWER_OFF when unspecified, else kept", () => {
  assert.equal(normalizeSpec(wire()).power_state, "POWER_OFF");
  assert.equal(normalizeSpec(wire({ power_state: "" as never })).power_state, "POWER_OFF");
  assert.equal(normalizeSpec(wire({ power_state: "POWER_ON" })).power_state, "POWER_ON");
  assert.equal(normalizeSpec(wire({ power_state: "POWER_OFF" })).power_state, "POWER_OFF");
});

Deno.test("normalizeSpec: network mode user and protocol tcp by default", () => {
  const n = normalizeSpec(wire({
    network: {
      mode: "",
      port_forwards: [
        { protocol: "", host_port: 0, guest_port: 22 },
        { protocol: "udp", host_port: 20053, guest_port: 53 },
      ],
    },
  }));
  assert.deepEqual(n.network, {
    mode: "user",
    port_forwards: [
      { protocol: "tcp", host_port: 0, guest_port: 22 },
      { protocol: "udp", host_port: 20053, guest_port: 53 },
    ],
  });
});

Deno.test('normalizeSpec: disks get format "" and read_only false by default', () => {
  const n = normalizeSpec(wire({
    disks: [{ path: "/img/a.raw" } as never, { path: "/img/b", format: "qcow2", read_only: true }],
  }));
  assert.deepEqual(n.disks, [
    { path: "/img/a.raw", format: "", read_only: false },
    { path: "/img/b", format: "qcow2", read_only: true },
  ]);
});

Deno.test("normalizeSpec: boot source is set; empty boot stays empty (UEFI, no disk)", () => {
  const disk = { path: "/img/root.qcow2", format: "qcow2", firmware_path: "/fw/code.fd" };
  assert.deepEqual(normalizeSpec(wire({ boot: { disk } })).boot, { source: "disk", disk });
  assert.deepEqual(normalizeSpec(wire({ boot: null })).boot, {});
  assert.deepEqual(normalizeSpec(wire({ boot: {} })).boot, {});
});

Deno.test("normalizeSpec returns a new object and leaves its input alone", () => {
  const s = wire({ disks: [{ path: "/img/a", format: "", read_only: false }] });
  const before = structuredClone(s);
  const n = normalizeSpec(s);
  assert.deepEqual(s, before);
  assert.notEqual(n, s);
  assert.notEqual(n.boot!.kernel, s.boot!.kernel);
  // Normalizing twice changes nothing.
  assert.deepEqual(normalizeSpec(n), n);
});

Deno.test("normalizeSpec accepts the limits", () => {
  const lo = normalizeSpec(wire({ memory_mb: 64, cpu_cores: 1 }));
  assert.equal(lo.memory_mb, 64);
  const hi = normalizeSpec(wire({ memory_mb: 1048576, cpu_cores: 256 }));
  assert.equal(hi.memory_mb, 1048576);
  assert.equal(hi.cpu_cores, 256);
  for (const accelerator of ["hvf", "kvm", "tcg"]) {
    assert.equal(normalizeSpec(wire({ accelerator })).accelerator, accelerator);
  }
});

// ---- errors name their field ----

Deno.test("normalizeSpec: missing spec", () => {
  assertInvalid(() => normalizeSpec(null), "spec: is required");
  assertInvalid(() => normalizeSpec(undefined, "vm.spec"), "vm.spec: is required");
});

Deno.test("normalizeSpec: memory_mb out of range", () => {
  for (const memory_mb of [0, 63, -512, 1048577, 2 ** 30, 256.5]) {
    assertInvalid(
      () => normalizeSpec(wire({ memory_mb })),
      "spec.memory_mb: must be between 64 and 1048576",
    );
  }
  assertInvalid(
    () => normalizeSpec(wire({ memory_mb: undefined as never })),
    "spec.memory_mb: ",
  );
});

Deno.test("normalizeSpec: cpu_cores out of range", () => {
  for (const cpu_cores of [257, 1000, -1, 1.5]) {
    assertInvalid(
      () => normalizeSpec(wire({ cpu_cores })),
      "spec.cpu_cores: must be between 1 and 256",
    );
  }
});

Deno.test("normalizeSpec: arch, machine and accelerator", () => {
  assertInvalid(
    () => normalizeSpec(wire({ arch: "riscv64" })),
    "spec.arch: must be one of aarch64, x86_64",
    /riscv64/,
  );
  assertInvalid(() => normalizeSpec(wire({ arch: "" })), "spec.arch: ");
  assertInvalid(() => normalizeSpec(wire({ machine: "Q35" })), "spec.machine: ");
  assertInvalid(() => normalizeSpec(wire({ machine: "q35,accel=kvm" })), "spec.machine: ");
  assertInvalid(
    () => normalizeSpec(wire({ accelerator: "xen" })),
    "spec.accelerator: must be one of hvf, kvm, tcg",
  );
});

Deno.test("normalizeSpec: a custom field prefix is used in messages", () => {
  assertInvalid(() => normalizeSpec(wire({ memory_mb: 1 }), "vm.spec"), "vm.spec.memory_mb: ");
});

Deno.test("normalizeSpec: boot errors", () => {
  const disk = { path: "/img/root.qcow2", format: "", firmware_path: "" };
  assertInvalid(
    () => normalizeSpec(wire({ boot: { kernel: KERNEL, disk } })),
    "spec.boot: set one of kernel, disk or volume",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { kernel: { ...KERNEL, kernel_path: "" } } })),
    "spec.boot.kernel.kernel_path: must not be empty",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { kernel: { ...KERNEL, kernel_path: "vmlinuz" } } })),
    "spec.boot.kernel.kernel_path: must be an absolute path",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { kernel: { ...KERNEL, initrd_path: "rel/initrd" } } })),
    "spec.boot.kernel.initrd_path: ",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { kernel: { ...KERNEL, cmdline: "a\nb" } } })),
    "spec.boot.kernel.cmdline: must not contain control characters",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { kernel: { ...KERNEL, cmdline: "x".repeat(4097) } } })),
    "spec.boot.kernel.cmdline: must be at most 4096 characters",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { disk: { ...disk, path: "/img/a\x00b" } } })),
    "spec.boot.disk.path: must not contain control characters",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { disk: { ...disk, format: "vmdk" } } })),
    "spec.boot.disk.format: must be one of qcow2, raw",
  );
  assertInvalid(
    () => normalizeSpec(wire({ boot: { disk: { ...disk, firmware_path: "fw.fd" } } })),
    "spec.boot.disk.firmware_path: ",
  );
});

Deno.test("normalizeSpec: disk errors name the index", () => {
  const ok = { path: "/img/a", format: "", read_only: false };
  assertInvalid(
    () => normalizeSpec(wire({ disks: [ok, { ...ok, path: "b" }] })),
    "spec.disks[1].path: must be an absolute path",
  );
  assertInvalid(
    () => normalizeSpec(wire({ disks: [{ ...ok, format: "vdi" }] })),
    "spec.disks[0].format: ",
  );
  assertInvalid(
    () => normalizeSpec(wire({ disks: [{ ...ok, path: "/" + "a".repeat(4096) }] })),
    "spec.disks[0].path: must be at most 4096 characters",
  );
  assertInvalid(
    () => normalizeSpec(wire({ disks: Array.from({ length: 17 }, () => ok) })),
    "spec.disks: at most 16 extra disks",
  );
  assert.equal(
    normalizeSpec(wire({ disks: Array.from({ length: 16 }, () => ok) })).disks.length,
    16,
  );
});

Deno.test("normalizeSpec: network errors", () => {
  const pf = (p: Partial<{ protocol: string; host_port: number; guest_port: number }>) => ({
    protocol: "tcp",
    host_port: 0,
    guest_port: 80,
    ...p,
  });
  const net = (mode: string, ...port_forwards: ReturnType<typeof pf>[]) =>
    wire({ network: { mode, port_forwards } });
  assertInvalid(
    () => normalizeSpec(net("bridge")),
    "spec.network.mode: must be one of user, none",
  );
  assertInvalid(
    () => normalizeSpec(net("none", pf({}))),
    "spec.network.port_forwards: forwarded ports need a network",
  );
  assertInvalid(
    () => normalizeSpec(net("user", pf({}), pf({ protocol: "sctp" }))),
    "spec.network.port_forwards[1].protocol: must be one of tcp, udp",
  );
  assertInvalid(
    () => normalizeSpec(net("user", pf({ host_port: 80 }))),
    "spec.network.port_forwards[0].host_port: must be between 1024 and 65535",
  );
  assertInvalid(
    () => normalizeSpec(net("user", pf({ host_port: 65536 }))),
    "spec.network.port_forwards[0].host_port: ",
  );
  assertInvalid(
    () => normalizeSpec(net("user", pf({ guest_port: 0 }))),
    "spec.network.port_forwards[0].guest_port: must be between 1 and 65535",
  );
  assertInvalid(
    () => normalizeSpec(net("user", pf({ guest_port: 70000 }))),
    "spec.network.port_forwards[0].guest_port: ",
  );
  assertInvalid(
    () => normalizeSpec(net("user", pf({}), pf({ guest_port: 22 }), pf({}))),
    "spec.network.port_forwards[2].guest_port: guest port tcp/80 is forwarded twice",
  );
  assertInvalid(
    () =>
      normalizeSpec(
        net("user", pf({ host_port: 20000 }), pf({ guest_port: 22, host_port: 20000 })),
      ),
    "spec.network.port_forwards[1].host_port: used twice",
  );
  // The same port over tcp and udp is two different forwards.
  const ok = normalizeSpec(
    net(
      "user",
      pf({ host_port: 20053, guest_port: 53 }),
      pf({
        protocol: "udp",
        host_port: 20053,
        guest_port: 53,
      }),
    ),
  );
  assert.equal(ok.network!.port_forwards.length, 2);
  // Several automatic host ports are fine.
  assert.equal(
    normalizeSpec(net("user", pf({}), pf({ guest_port: 22 }))).network!.port_forwards.length,
    2,
  );
});

// ---- names and labels ----

// A raw client sending enum number 7 (decoded as the number 7 with enums: String) must not
// get a VM whose desired state is neither on nor off.
Deno.test({
  name: "normalizeSpec: an unknown power_state is refused, naming spec.power_state",
  fn() {
    for (const power_state of [7, "running"]) {
      assertInvalid(
        () => normalizeSpec(wire({ power_state: power_state as never })),
        "spec.power_state: ",
      );
    }
  },
});
