// The QEMU command line for a VM: a pure function of the spec and the resolved host
// facts, so it can be unit-tested and reused by the boot benchmark's raw baseline.
import { createHash } from "node:crypto";
import type { PortForward, VmSpec } from "../api/gen/infrasim.v1.ts";
import type { Accelerator, Arch } from "../api/validate/common.ts";

export interface RunPaths {
  qmpSocket: string;
  serialSocket: string;
  serialLog: string;
  pidFile: string;
  /** Per-VM writable copy of the UEFI variable store (disk boot only). */
  firmwareVars: string;
  /** The VNC server's unix socket (display "vnc" only). */
  vncSocket: string;
  /** The guest agent's channel (qemu-ga in the guest, when it runs one). */
  guestAgentSocket: string;
}

export interface QemuArgsInput {
  id: string;
  name: string;
  spec: VmSpec;
  accelerator: Accelerator;
  /** Port forwards with their host ports resolved (no zeros). */
  ports: PortForward[];
  paths: RunPaths;
  /** UEFI code image; required for disk boot. */
  firmwareCode?: string;
  /** Detach from the daemon (-daemonize) and start paused (-S) until QMP says cont. */
  supervised: boolean;
  /** Disk formats resolved from the image headers, by path. */
  diskFormats?: Record<string, string>;
  /** Volumes resolved to their files: the boot volume first when there is one. */
  volumes?: VolumeDrive[];
  /** The cloud-init NoCloud seed image (raw, read-only). */
  seed?: string;
  /** NICs on private networks, after the user-mode one. */
  nics?: PrivateNic[];
}

/** A NIC on a private network: QEMU listens on sock for the network's link engine. */
export interface PrivateNic {
  sock: string;
  mac: string;
  ip: string;
  prefix: number;
  mtu: number;
}

/**
 * What a direct-boot guest learns of its private NICs: `infrasim.nic=<mac>,<ip>/<prefix>,<mtu>`
 * once per NIC on the kernel command line (the project's test guests read it).
 */
export function nicCmdline(nics: PrivateNic[]): string {
  return nics.map((n) => `infrasim.nic=${n.mac},${n.ip}/${n.prefix},${n.mtu}`).join(" ");
}

export interface VolumeDrive {
  id: string;
  path: string;
  readOnly: boolean;
  boot: boolean;
}

/** A volume's drive id: stable, so a running VM's volume can be grown by it (block_resize). */
export const volumeDriveId = (volumeId: string) => `vol-${volumeId}`;

/** QEMU splits option values on commas; a literal comma is written twice. */
export function escapeOptionValue(v: string): string {
  return v.replaceAll(",", ",,");
}

/** The CPU model: the host's under hardware acceleration, a fast emulated one under TCG. */
export function cpuModel(arch: Arch, accel: Accelerator): string {
  if (accel !== "tcg") return "host";
  // cortex-a72 avoids the slow emulation of pointer authentication that "max" brings.
  return arch === "aarch64" ? "cortex-a72" : "max";
}

/** A stable MAC address (QEMU's 52:54:00 prefix) per VM and NIC: no two NICs share one. */
export function macAddress(id: string, nic = 0): string {
  const h = createHash("sha256").update(`${id}/${nic}`).digest("hex");
  return `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

/**
 * The guest agent's channel: a virtio-serial bus and the port qemu-ga looks for, on a
 * unix socket the daemon connects to (guest_agent.ts speaks its protocol).
 */
export function guestAgentArgs(socket: string): string[] {
  return [
    "-chardev",
    `socket,id=qga0,path=${escapeOptionValue(socket)},server=on,wait=off`,
    "-device",
    "virtio-serial-pci,id=vser0",
    "-device",
    "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
  ];
}

export function buildQemuArgs(input: QemuArgsInput): string[] {
  const { spec, accelerator: accel, paths } = input;
  const arch = spec.arch as Arch;
  const e = escapeOptionValue;
  const args: string[] = [
    "-name",
    `guest=${e(input.name)}`,
    "-uuid",
    input.id,
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-msg",
    "timestamp=off",
  ];

  let machine = `${spec.machine},accel=${accel}`;
  // GICv2 on aarch64 "virt" stops at 8 CPUs.
  const virt = spec.machine === "virt" || spec.machine.startsWith("virt-");
  if (arch === "aarch64" && virt && spec.cpu_cores > 8) {
    machine += ",gic-version=3";
  }
  args.push("-machine", machine, "-cpu", cpuModel(arch, accel));
  args.push("-smp", String(spec.cpu_cores), "-m", String(spec.memory_mb));

  // Control and console: QMP and the serial port are unix sockets in the run dir;
  // the serial output is also written to a log by QEMU itself, anew at each start.
  args.push(
    "-chardev",
    `socket,id=qmp0,path=${e(paths.qmpSocket)},server=on,wait=off`,
    "-mon",
    "chardev=qmp0,mode=control",
    "-chardev",
    `socket,id=serial0,path=${e(paths.serialSocket)},server=on,wait=off,logfile=${
      e(paths.serialLog)
    }`,
    "-serial",
    "chardev:serial0",
  );

  args.push(...guestAgentArgs(paths.guestAgentSocket));
  if (spec.display === "vnc") args.push(...screenArgs(arch, paths.vncSocket));

  const boot = spec.boot;
  const format = (path: string, f: string) => f || input.diskFormats?.[path] || "raw";
  if (boot?.kernel) {
    args.push("-kernel", boot.kernel.kernel_path);
    if (boot.kernel.initrd_path) args.push("-initrd", boot.kernel.initrd_path);
    const cmdline = [boot.kernel.cmdline, nicCmdline(input.nics ?? [])].filter(Boolean).join(" ");
    if (cmdline) args.push("-append", cmdline);
  }
  if (boot?.disk || !boot?.kernel) {
    // UEFI: read-only code plus a per-VM variable store.
    if (!input.firmwareCode) throw new Error("UEFI boot needs firmware (firmwareCode)");
    args.push(
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${e(input.firmwareCode)}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${e(paths.firmwareVars)}`,
    );
  }
  if (boot?.disk) {
    args.push(
      "-drive",
      `file=${e(boot.disk.path)},format=${
        format(boot.disk.path, boot.disk.format)
      },if=none,id=disk0`,
      "-device",
      "virtio-blk-pci,drive=disk0,bootindex=0",
    );
  }
  for (const v of input.volumes ?? []) {
    // qcow2 always: a volume is made by the daemon, never probed.
    args.push(
      "-drive",
      `file=${e(v.path)},format=qcow2,if=none,id=${volumeDriveId(v.id)}${
        v.readOnly ? ",readonly=on" : ""
      }`,
      "-device",
      `virtio-blk-pci,drive=${volumeDriveId(v.id)}${v.boot ? ",bootindex=0" : ""}`,
    );
  }
  if (input.seed) {
    // virtio, not a SATA cdrom: Debian's cloud kernel has no AHCI driver.
    args.push(
      "-drive",
      `file=${e(input.seed)},format=raw,if=none,id=cidata,readonly=on`,
      "-device",
      "virtio-blk-pci,drive=cidata",
    );
  }
  spec.disks.forEach((d, i) => {
    const id = `disk${i + 1}`;
    args.push(
      "-drive",
      `file=${e(d.path)},format=${format(d.path, d.format)},if=none,id=${id}${
        d.read_only ? ",readonly=on" : ""
      }`,
      "-device",
      `virtio-blk-pci,drive=${id}`,
    );
  });

  if (spec.network?.mode !== "none") {
    const fwds = input.ports.map((p) =>
      `,hostfwd=${p.protocol}:127.0.0.1:${p.host_port}-:${p.guest_port}`
    ).join("");
    args.push(
      "-netdev",
      `user,id=net0${fwds}`,
      "-device",
      `virtio-net-pci,netdev=net0,mac=${macAddress(input.id, 0)}`,
    );
  }
  (input.nics ?? []).forEach((n, i) => {
    args.push(
      "-netdev",
      // QEMU listens; the network's link engine connects, and may reconnect at any time.
      `stream,id=vnet${i},server=on,addr.type=unix,addr.path=${e(n.sock)}`,
      "-device",
      // host_mtu tells the guest's virtio-net driver the segment's MTU.
      `virtio-net-pci,netdev=vnet${i},mac=${n.mac}${n.mtu !== 1500 ? `,host_mtu=${n.mtu}` : ""}`,
    );
  });
  args.push(
    "-object",
    "rng-random,id=rng0,filename=/dev/urandom",
    "-device",
    "virtio-rng-pci,rng=rng0",
  );

  if (input.supervised) {
    args.push("-S", "-daemonize", "-pidfile", paths.pidFile);
  }
  return args;
}

/**
 * A screen behind VNC on a unix socket (no TCP port): the display adapter UEFI and Linux
 * both draw on (VGA on x86_64; virtio-gpu on aarch64, which has no VGA), and USB input
 * with an absolute pointer, so a browser's VNC client points where the user clicks.
 */
export function screenArgs(arch: Arch, vncSocket: string): string[] {
  return [
    "-vnc",
    `unix:${escapeOptionValue(vncSocket)}`,
    "-device",
    arch === "aarch64" ? "virtio-gpu-pci" : "VGA",
    "-device",
    "qemu-xhci,id=usb0",
    "-device",
    "usb-kbd,bus=usb0.0",
    "-device",
    "usb-tablet,bus=usb0.0",
  ];
}
