// buildQemuArgs and its helpers: the QEMU command line as a pure function of the spec.
import assert from "node:assert/strict";
import {
  buildQemuArgs,
  cpuModel,
  escapeOptionValue,
  macAddress,
  type QemuArgsInput,
  type RunPaths,
} from "../../src/qemu/args.ts";
import type { VmSpec } from "../../src/api/gen/infrasim.v1.ts";

const ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";

const PATHS: RunPaths = {
  qmpSocket: "/d/vms/x/qmp.sock",
  serialSocket: "/d/vms/x/serial.sock",
  serialLog: "/d/vms/x/serial.log",
  pidFile: "/d/vms/x/qemu.pid",
  firmwareVars: "/d/vms/x/efivars.fd",
  vncSocket: "/d/vms/x/vnc.sock",
  guestAgentSocket: "/d/vms/x/qga.sock",
};

function spec(extra: Partial<VmSpec> = {}): VmSpec {
  return {
    arch: "x86_64",
    machine: "q35",
    cpu_cores: 2,
    memory_mb: 512,
    boot: {
      source: "kernel",
      kernel: { kernel_path: "/g/vmlinuz", initrd_path: "/g/initrd.img", cmdline: "console=ttyS0" },
    },
    disks: [],
    network: { mode: "user", port_forwards: [] },
    volumes: [],
    network_interfaces: [],
    accelerator: "",
    power_state: "POWER_ON",
    ...extra,
  };
}

function input(extra: Partial<QemuArgsInput> = {}): QemuArgsInput {
  return {
    id: ID,
    name: "web",
    spec: spec(),
    accelerator: "tcg",
    ports: [],
    paths: PATHS,
    supervised: false,
    ...extra,
  };
}

/** The value following each occurrence of an option, e.g. all "-drive" values. */
function values(args: string[], opt: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === opt) out.push(args[i + 1]);
  });
  return out;
}

/** The single value of an option that must occur exactly once. */
function value(args: string[], opt: string): string {
  const v = values(args, opt);
  assert.equal(v.length, 1, `${opt} should occur once in ${args.join(" ")}`);
  return v[0];
}

const UEFI = "/fw/OVMF_CODE.fd";

function uefiSpec(extra: Partial<VmSpec> = {}): VmSpec {
  return spec({
    boot: { source: "disk", disk: { path: "/img/root.qcow2", format: "", firmware_path: "" } },
    ...extra,
  });
}

Deno.test("escapeOptionValue doubles commas and leaves everything else", () => {
  assert.equal(escapeOptionValue("/a/b"), "/a/b");
  assert.equal(escapeOptionValue("/a,b"), "/a,,b");
  assert.equal(escapeOptionValue(",x,,y,"), ",,x,,,,y,,");
  assert.equal(escapeOptionValue(""), "");
});

Deno.test("cpuModel: host under hardware acceleration, max / cortex-a72 under tcg", () => {
  assert.equal(cpuModel("x86_64", "tcg"), "max");
  assert.equal(cpuModel("aarch64", "tcg"), "cortex-a72");
  assert.equal(cpuModel("x86_64", "kvm"), "host");
  assert.equal(cpuModel("aarch64", "kvm"), "host");
  assert.equal(cpuModel("aarch64", "hvf"), "host");
  assert.equal(cpuModel("x86_64", "hvf"), "host");
});

Deno.test("macAddress is stable, locally administered unicast, and differs per VM and NIC", () => {
  const mac = macAddress(ID);
  assert.equal(macAddress(ID), mac);
  assert.equal(macAddress(ID, 0), mac);
  assert.match(mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  const first = parseInt(mac.slice(0, 2), 16);
  assert.equal(first & 0b10, 0b10, "locally administered bit set");
  assert.equal(first & 0b01, 0, "unicast");
  assert.notEqual(macAddress("ffeedd00-0000-0000-0000-000000000000"), mac);
  // A second NIC of the same VM gets its own address.
  const nics = new Set([0, 1, 2, 3].map((i) => macAddress(ID, i)));
  assert.equal(nics.size, 4);
  assert.match(macAddress("ab"), /^52:54:00(:[0-9a-f]{2}){3}$/);
});

Deno.test("x86_64 q35 kernel boot under tcg", () => {
  const args = buildQemuArgs(input({
    spec: spec({
      network: {
        mode: "user",
        port_forwards: [{ protocol: "tcp", host_port: 0, guest_port: 80 }],
      },
    }),
    ports: [
      { protocol: "tcp", host_port: 20080, guest_port: 80 },
      { protocol: "udp", host_port: 20053, guest_port: 53 },
    ],
  }));
  assert.equal(value(args, "-name"), "guest=web");
  assert.equal(value(args, "-uuid"), ID);
  for (const flag of ["-nodefaults", "-no-user-config"]) assert.ok(args.includes(flag), flag);
  assert.equal(value(args, "-display"), "none");
  assert.equal(value(args, "-machine"), "q35,accel=tcg");
  assert.equal(value(args, "-cpu"), "max");
  assert.equal(value(args, "-smp"), "2");
  assert.equal(value(args, "-m"), "512");

  assert.equal(value(args, "-kernel"), "/g/vmlinuz");
  assert.equal(value(args, "-initrd"), "/g/initrd.img");
  assert.equal(value(args, "-append"), "console=ttyS0");
  // Kernel boot needs no firmware and no disks.
  assert.deepEqual(values(args, "-drive"), []);

  // QMP, serial and guest agent sockets; the agent's port has the name qemu-ga looks for.
  const chardevs = values(args, "-chardev");
  assert.deepEqual(chardevs, [
    "socket,id=qmp0,path=/d/vms/x/qmp.sock,server=on,wait=off",
    "socket,id=serial0,path=/d/vms/x/serial.sock,server=on,wait=off,logfile=/d/vms/x/serial.log",
    "socket,id=qga0,path=/d/vms/x/qga.sock,server=on,wait=off",
  ]);
  assert.ok(
    values(args, "-device").includes(
      "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
    ),
  );
  assert.equal(value(args, "-mon"), "chardev=qmp0,mode=control");
  assert.equal(value(args, "-serial"), "chardev:serial0");

  // User networking with the resolved forwards bound to loopback only.
  assert.equal(
    value(args, "-netdev"),
    "user,id=net0,hostfwd=tcp:127.0.0.1:20080-:80,hostfwd=udp:127.0.0.1:20053-:53",
  );
  const devices = values(args, "-device");
  assert.ok(
    devices.includes(`virtio-net-pci,netdev=net0,mac=${macAddress(ID)}`),
    devices.join(" "),
  );
  assert.ok(devices.includes("virtio-rng-pci,rng=rng0"), devices.join(" "));
  assert.equal(value(args, "-object"), "rng-random,id=rng0,filename=/dev/urandom");

  // Not supervised: runs in the foreground, not paused, no pid file.
  for (const flag of ["-S", "-daemonize", "-pidfile"]) {
    assert.ok(!args.includes(flag), `${flag} must not be present`);
  }
});

Deno.test("kernel boot without initrd or cmdline leaves out -initrd and -append", () => {
  const args = buildQemuArgs(input({
    spec: spec({
      boot: { kernel: { kernel_path: "/g/vmlinuz", initrd_path: "", cmdline: "" } },
    }),
  }));
  assert.equal(value(args, "-kernel"), "/g/vmlinuz");
  assert.ok(!args.includes("-initrd"));
  assert.ok(!args.includes("-append"));
});

Deno.test("supervised adds -S -daemonize -pidfile at the end", () => {
  const args = buildQemuArgs(input({ supervised: true }));
  assert.deepEqual(args.slice(-4), ["-S", "-daemonize", "-pidfile", PATHS.pidFile]);
  assert.equal(args.filter((a) => a === "-S").length, 1);
});

Deno.test("aarch64 virt: cortex-a72 under tcg", () => {
  const args = buildQemuArgs(input({ spec: spec({ arch: "aarch64", machine: "virt" }) }));
  assert.equal(value(args, "-machine"), "virt,accel=tcg");
  assert.equal(value(args, "-cpu"), "cortex-a72");
});

Deno.test("aarch64 virt: host cpu under hvf and kvm", () => {
  for (const accel of ["hvf", "kvm"] as const) {
    const args = buildQemuArgs(input({
      spec: spec({ arch: "aarch64", machine: "virt" }),
      accelerator: accel,
    }));
    assert.equal(value(args, "-machine"), `virt,accel=${accel}`);
    assert.equal(value(args, "-cpu"), "host");
  }
});

Deno.test("x86_64 under kvm uses the host cpu", () => {
  const args = buildQemuArgs(input({ accelerator: "kvm" }));
  assert.equal(value(args, "-machine"), "q35,accel=kvm");
  assert.equal(value(args, "-cpu"), "host");
});

Deno.test("aarch64 virt: gic-version=3 only above 8 cpus", () => {
  const machine = (cpu_cores: number, arch = "aarch64", m = "virt") =>
    value(buildQemuArgs(input({ spec: spec({ arch, machine: m, cpu_cores }) })), "-machine");
  assert.equal(machine(1), "virt,accel=tcg");
  assert.equal(machine(8), "virt,accel=tcg");
  assert.equal(machine(9), "virt,accel=tcg,gic-version=3");
  assert.equal(machine(64), "virt,accel=tcg,gic-version=3");
  // Not for other arches.
  assert.equal(machine(16, "x86_64", "q35"), "q35,accel=tcg");
  const args = buildQemuArgs(
    input({ spec: spec({ arch: "aarch64", machine: "virt", cpu_cores: 9 }) }),
  );
  assert.equal(value(args, "-smp"), "9");
});

Deno.test("UEFI disk boot: pflash code read-only, per-VM vars, boot disk with bootindex=0", () => {
  const args = buildQemuArgs(input({
    spec: uefiSpec(),
    firmwareCode: UEFI,
    diskFormats: { "/img/root.qcow2": "qcow2" },
  }));
  assert.deepEqual(values(args, "-drive"), [
    `if=pflash,format=raw,unit=0,readonly=on,file=${UEFI}`,
    `if=pflash,format=raw,unit=1,file=${PATHS.firmwareVars}`,
    "file=/img/root.qcow2,format=qcow2,if=none,id=disk0",
  ]);
  assert.ok(values(args, "-device").includes("virtio-blk-pci,drive=disk0,bootindex=0"));
  assert.ok(!args.includes("-kernel"));
  assert.ok(!args.includes("-initrd"));
  assert.ok(!args.includes("-append"));
});

Deno.test("UEFI disk boot: an explicit format wins over the detected one, raw is the fallback", () => {
  const drive0 = (format: string, diskFormats?: Record<string, string>) =>
    values(
      buildQemuArgs(input({
        spec: uefiSpec({
          boot: { disk: { path: "/img/root.img", format, firmware_path: "" } },
        }),
        firmwareCode: UEFI,
        diskFormats,
      })),
      "-drive",
    )[2];
  assert.equal(
    drive0("raw", { "/img/root.img": "qcow2" }),
    "file=/img/root.img,format=raw,if=none,id=disk0",
  );
  assert.equal(
    drive0("", { "/img/root.img": "qcow2" }),
    "file=/img/root.img,format=qcow2,if=none,id=disk0",
  );
  assert.equal(drive0("", {}), "file=/img/root.img,format=raw,if=none,id=disk0");
  assert.equal(drive0("", undefined), "file=/img/root.img,format=raw,if=none,id=disk0");
});

Deno.test("UEFI with no boot disk (empty boot): firmware only, no disk0", () => {
  const args = buildQemuArgs(input({ spec: spec({ boot: {} }), firmwareCode: UEFI }));
  const drives = values(args, "-drive");
  assert.equal(drives.length, 2);
  assert.ok(drives.every((d) => d.startsWith("if=pflash,")));
  assert.ok(!values(args, "-device").some((d) => d.includes("bootindex")));
});

Deno.test("UEFI boot throws without firmwareCode", () => {
  assert.throws(() => buildQemuArgs(input({ spec: uefiSpec() })), /firmwareCode/);
  assert.throws(() => buildQemuArgs(input({ spec: spec({ boot: {} }) })), /firmwareCode/);
  assert.throws(() => buildQemuArgs(input({ spec: spec({ boot: null }) })), /firmwareCode/);
  // Kernel boot does not need it.
  assert.doesNotThrow(() => buildQemuArgs(input()));
});

Deno.test("extra disks: virtio-blk, readonly=on when read_only, formats resolved", () => {
  const args = buildQemuArgs(input({
    spec: spec({
      disks: [
        { path: "/img/data.qcow2", format: "", read_only: false },
        { path: "/img/seed.iso", format: "raw", read_only: true },
        { path: "/img/other", format: "", read_only: false },
      ],
    }),
    diskFormats: { "/img/data.qcow2": "qcow2" },
  }));
  assert.deepEqual(values(args, "-drive"), [
    "file=/img/data.qcow2,format=qcow2,if=none,id=disk1",
    "file=/img/seed.iso,format=raw,if=none,id=disk2,readonly=on",
    "file=/img/other,format=raw,if=none,id=disk3",
  ]);
  const blk = values(args, "-device").filter((d) => d.startsWith("virtio-blk-pci"));
  assert.deepEqual(blk, [
    "virtio-blk-pci,drive=disk1",
    "virtio-blk-pci,drive=disk2",
    "virtio-blk-pci,drive=disk3",
  ]);
});

Deno.test("extra disks follow the UEFI boot disk, which keeps id disk0", () => {
  const args = buildQemuArgs(input({
    spec: uefiSpec({ disks: [{ path: "/img/data.raw", format: "raw", read_only: true }] }),
    firmwareCode: UEFI,
  }));
  const drives = values(args, "-drive");
  assert.equal(drives.length, 4);
  assert.equal(drives[2], "file=/img/root.qcow2,format=raw,if=none,id=disk0");
  assert.equal(drives[3], "file=/img/data.raw,format=raw,if=none,id=disk1,readonly=on");
});

Deno.test("network mode none: no -netdev and no NIC, rng still present", () => {
  const args = buildQemuArgs(
    input({ spec: spec({ network: { mode: "none", port_forwards: [] } }) }),
  );
  assert.ok(!args.includes("-netdev"));
  const devices = values(args, "-device");
  assert.ok(!devices.some((d) => d.startsWith("virtio-net-pci")), devices.join(" "));
  assert.ok(devices.includes("virtio-rng-pci,rng=rng0"));
});

Deno.test("network mode user without forwards: plain user netdev", () => {
  const args = buildQemuArgs(input());
  assert.equal(value(args, "-netdev"), "user,id=net0");
});

Deno.test("commas in paths and the name are doubled inside option values", () => {
  const paths: RunPaths = {
    qmpSocket: "/d,1/qmp.sock",
    serialSocket: "/d,1/serial.sock",
    serialLog: "/d,1/serial.log",
    pidFile: "/d,1/qemu.pid",
    firmwareVars: "/d,1/vars.fd",
    vncSocket: "/d,1/vnc.sock",
    guestAgentSocket: "/d,1/qga.sock",
  };
  const args = buildQemuArgs(input({
    name: "a,b",
    paths,
    spec: uefiSpec({
      boot: { disk: { path: "/img/a,b.qcow2", format: "qcow2", firmware_path: "" } },
      disks: [{ path: "/img/c,d.raw", format: "raw", read_only: true }],
    }),
    firmwareCode: "/fw/code,x.fd",
    supervised: true,
  }));
  assert.equal(value(args, "-name"), "guest=a,,b");
  assert.deepEqual(values(args, "-chardev"), [
    "socket,id=qmp0,path=/d,,1/qmp.sock,server=on,wait=off",
    "socket,id=serial0,path=/d,,1/serial.sock,server=on,wait=off,logfile=/d,,1/serial.log",
    "socket,id=qga0,path=/d,,1/qga.sock,server=on,wait=off",
  ]);
  assert.deepEqual(values(args, "-drive"), [
    "if=pflash,format=raw,unit=0,readonly=on,file=/fw/code,,x.fd",
    "if=pflash,format=raw,unit=1,file=/d,,1/vars.fd",
    "file=/img/a,,b.qcow2,format=qcow2,if=none,id=disk0",
    "file=/img/c,,d.raw,format=raw,if=none,id=disk1,readonly=on",
  ]);
  // -pidfile takes a plain path, not an option list: no escaping there.
  assert.equal(value(args, "-pidfile"), "/d,1/qemu.pid");
});

Deno.test("kernel, initrd and cmdline are plain arguments, not escaped", () => {
  const args = buildQemuArgs(input({
    spec: spec({
      boot: {
        kernel: {
          kernel_path: "/g,1/vmlinuz",
          initrd_path: "/g,1/initrd",
          cmdline: "console=ttyS0 a=b,c",
        },
      },
    }),
  }));
  assert.equal(value(args, "-kernel"), "/g,1/vmlinuz");
  assert.equal(value(args, "-initrd"), "/g,1/initrd");
  assert.equal(value(args, "-append"), "console=ttyS0 a=b,c");
});

Deno.test("buildQemuArgs does not modify its input", () => {
  const i = input({ spec: uefiSpec(), firmwareCode: UEFI, ports: [] });
  const before = structuredClone(i);
  buildQemuArgs(i);
  assert.deepEqual(i, before);
});

Deno.test("display vnc: buildQemuArgs adds the screen; none adds nothing", () => {
  assert.deepEqual(values(buildQemuArgs(input()), "-vnc"), []);
  const x86 = buildQemuArgs(input({ spec: spec({ display: "vnc" }) }));
  assert.deepEqual(values(x86, "-vnc"), ["unix:/d/vms/x/vnc.sock"]);
  assert.deepEqual(values(x86, "-display"), ["none"], "no local window");
});
