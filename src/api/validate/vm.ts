// Validation and defaults of a VM spec, shared by the daemon (authoritative), the CLI
// and the provider (early, so errors point at the flag or the attribute).
import { invalid, quote, Violations } from "../errors.ts";
import type { PortForward, VmSpec } from "../gen/infrasim.v1.ts";
import {
  ACCELERATORS,
  ARCHES,
  DISK_FORMATS,
  intIn,
  LIMITS,
  oneOf,
  validatePathSyntax,
} from "./common.ts";
import { normalizeCloudInit, normalizeVolumes, normalizeWaitFor, validateRef } from "./guest.ts";
import { normalizeInterfaces } from "./network.ts";

/** The defaults every client and the daemon share. */
export const VM_DEFAULTS = { cpuCores: 1, memoryMb: 512 } as const;
/** What a VM may show: nothing but its serial console, or a screen behind VNC. */
export const DISPLAYS = ["none", "vnc"] as const;

/**
 * Checks a spec and fills its defaults. Returns a new, normalized spec; the input
 * is not modified. Paths are only checked for syntax here. Every violation is
 * reported, not only the first (an INVALID_ARGUMENT carrying them all).
 */
export function normalizeVmSpec(spec: VmSpec | null | undefined, field = "spec"): VmSpec {
  if (!spec) throw invalid(field, "is required");
  const v = new Violations();
  const arch = v.check(() => oneOf(spec.arch || "", ARCHES, `${field}.arch`), "x86_64");
  const machine = spec.machine || (arch === "aarch64" ? "virt" : "q35");
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(machine)) {
    v.add(`${field}.machine`, `${quote(machine)} is not a machine type name`);
  }
  const cpu_cores = v.check(
    () => intIn(spec.cpu_cores || VM_DEFAULTS.cpuCores, LIMITS.cpuCores, `${field}.cpu_cores`),
    1,
  );
  const memory_mb = v.check(
    () => intIn(spec.memory_mb, LIMITS.memoryMb, `${field}.memory_mb`),
    VM_DEFAULTS.memoryMb,
  );
  const accelerator = spec.accelerator
    ? v.check(() => oneOf(spec.accelerator, ACCELERATORS, `${field}.accelerator`), "")
    : "";
  const boot = v.check(() => normalizeBoot(spec.boot, field), {});
  const disks = (spec.disks ?? []).map((d, i) => {
    const f = `${field}.disks[${i}]`;
    v.check(() => validatePathSyntax(d.path, `${f}.path`), "");
    if (d.format) v.check(() => oneOf(d.format, DISK_FORMATS, `${f}.format`), "");
    return { path: d.path, format: d.format || "", read_only: !!d.read_only };
  });
  if (disks.length > 16) v.add(`${field}.disks`, "at most 16 extra disks");
  const network = v.check(() => normalizeUserNetwork(spec.network, field), {
    mode: "user",
    port_forwards: [],
  });
  const power_state = spec.power_state === "POWER_STATE_UNSPECIFIED" || !spec.power_state
    ? "POWER_OFF"
    : v.check(
      () =>
        oneOf(String(spec.power_state), ["POWER_ON", "POWER_OFF"] as const, `${field}.power_state`),
      "POWER_OFF" as const,
    );
  const out: VmSpec = {
    arch,
    machine,
    cpu_cores,
    memory_mb,
    boot,
    disks,
    network,
    accelerator,
    power_state,
    volumes: v.check(() => normalizeVolumes(spec.volumes, boot.volume?.volume, field), []),
    cloud_init: v.check(() => normalizeCloudInit(spec.cloud_init, field), null),
    wait_for: v.check(() => normalizeWaitFor(spec.wait_for, network.port_forwards, field), null),
    network_interfaces: v.check(() => normalizeInterfaces(spec.network_interfaces, field), []),
  };
  // Kept only when set: a spec stored before the field existed compares equal, so an
  // update after an upgrade restarts nothing.
  const display = spec.display
    ? v.check(() => oneOf(spec.display!, DISPLAYS, `${field}.display`), "none")
    : "none";
  if (display === "vnc") out.display = "vnc";
  v.done();
  return out;
}

function normalizeBoot(b: VmSpec["boot"], field: string): NonNullable<VmSpec["boot"]> {
  const boot = b ?? {};
  if ([boot.kernel, boot.disk, boot.volume].filter(Boolean).length > 1) {
    throw invalid(`${field}.boot`, "set one of kernel, disk or volume");
  }
  const v = new Violations();
  let out: NonNullable<VmSpec["boot"]> = {};
  if (boot.kernel) {
    const k = boot.kernel;
    const f = `${field}.boot.kernel`;
    v.check(() => validatePathSyntax(k.kernel_path, `${f}.kernel_path`), "");
    if (k.initrd_path) v.check(() => validatePathSyntax(k.initrd_path, `${f}.initrd_path`), "");
    if (k.cmdline.length > 4096) v.add(`${f}.cmdline`, "must be at most 4096 characters");
    // deno-lint-ignore no-control-regex
    else if (/[\x00-\x1f]/.test(k.cmdline)) {
      v.add(`${f}.cmdline`, "must not contain control characters");
    }
    out = { source: "kernel", kernel: { ...k } };
  } else if (boot.disk) {
    const d = boot.disk;
    const f = `${field}.boot.disk`;
    v.check(() => validatePathSyntax(d.path, `${f}.path`), "");
    if (d.format) v.check(() => oneOf(d.format, DISK_FORMATS, `${f}.format`), "");
    if (d.firmware_path) {
      v.check(() => validatePathSyntax(d.firmware_path, `${f}.firmware_path`), "");
    }
    out = { source: "disk", disk: { ...d } };
  } else if (boot.volume) {
    const bv = boot.volume;
    const f = `${field}.boot.volume`;
    const volume = v.check(() => validateRef(bv.volume, `${f}.volume`, "a volume"), bv.volume);
    if (bv.firmware_path) {
      v.check(() => validatePathSyntax(bv.firmware_path, `${f}.firmware_path`), "");
    }
    out = { source: "volume", volume: { volume, firmware_path: bv.firmware_path ?? "" } };
  }
  v.done();
  return out;
}

function normalizeUserNetwork(n: VmSpec["network"], field: string): NonNullable<VmSpec["network"]> {
  const net = n ?? { mode: "", port_forwards: [] };
  const v = new Violations();
  const mode = v.check(
    () => oneOf(net.mode || "user", ["user", "none"] as const, `${field}.network.mode`),
    "user" as const,
  );
  const port_forwards = (net.port_forwards ?? []).map((p, i): PortForward => {
    const f = `${field}.network.port_forwards[${i}]`;
    // A bad protocol stays as given, so it is not also taken for a duplicate tcp forward.
    const protocol = v.check(
      () => oneOf(p.protocol || "tcp", ["tcp", "udp"] as const, `${f}.protocol`),
      p.protocol as "tcp",
    );
    const host_port = p.host_port === 0
      ? 0
      : v.check(() => intIn(p.host_port, LIMITS.hostPort, `${f}.host_port`), 0);
    const guest_port = v.check(() => intIn(p.guest_port, LIMITS.port, `${f}.guest_port`), 0);
    return { protocol, host_port, guest_port };
  });
  if (mode === "none" && port_forwards.length > 0) {
    v.add(
      `${field}.network.port_forwards`,
      'forwarded ports need a network: network.mode "user", not "none"',
    );
  }
  const seen = new Set<string>();
  port_forwards.forEach((p, i) => {
    const key = `${p.protocol}/${p.guest_port}`;
    if (p.guest_port && seen.has(key)) {
      v.add(
        `${field}.network.port_forwards[${i}].guest_port`,
        `guest port ${key} is forwarded twice`,
      );
    }
    seen.add(key);
    if (p.host_port) {
      const hk = `${p.protocol}:host:${p.host_port}`;
      if (seen.has(hk)) v.add(`${field}.network.port_forwards[${i}].host_port`, "used twice");
      seen.add(hk);
    }
  });
  v.done();
  return { mode, port_forwards };
}
