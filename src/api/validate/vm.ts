// Validation and defaults of a VM spec, shared by the daemon (authoritative), the CLI
// and the provider (early, so errors point at the flag or the attribute).
import { invalid, quote } from "../errors.ts";
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

/**
 * Checks a spec and fills its defaults. Returns a new, normalized spec; the input
 * is not modified. Paths are only checked for syntax here.
 */
export function normalizeVmSpec(spec: VmSpec | null | undefined, field = "spec"): VmSpec {
  if (!spec) throw invalid(field, "is required");
  const arch = oneOf(spec.arch || "", ARCHES, `${field}.arch`);
  const machine = spec.machine || (arch === "aarch64" ? "virt" : "q35");
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(machine)) {
    throw invalid(`${field}.machine`, `${quote(machine)} is not a machine type name`);
  }
  const cpu_cores = intIn(
    spec.cpu_cores || VM_DEFAULTS.cpuCores,
    LIMITS.cpuCores,
    `${field}.cpu_cores`,
  );
  const memory_mb = intIn(spec.memory_mb, LIMITS.memoryMb, `${field}.memory_mb`);
  const accelerator = spec.accelerator
    ? oneOf(spec.accelerator, ACCELERATORS, `${field}.accelerator`)
    : "";

  const boot = spec.boot ?? {};
  let normBoot: VmSpec["boot"] = {};
  if ([boot.kernel, boot.disk, boot.volume].filter(Boolean).length > 1) {
    throw invalid(`${field}.boot`, "set one of kernel, disk or volume");
  }
  if (boot.kernel) {
    const k = boot.kernel;
    const f = `${field}.boot.kernel`;
    validatePathSyntax(k.kernel_path, `${f}.kernel_path`);
    if (k.initrd_path) validatePathSyntax(k.initrd_path, `${f}.initrd_path`);
    if (k.cmdline.length > 4096) throw invalid(`${f}.cmdline`, "must be at most 4096 characters");
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f]/.test(k.cmdline)) {
      throw invalid(`${f}.cmdline`, "must not contain control characters");
    }
    normBoot = { source: "kernel", kernel: { ...k } };
  } else if (boot.disk) {
    const d = boot.disk;
    const f = `${field}.boot.disk`;
    validatePathSyntax(d.path, `${f}.path`);
    if (d.format) oneOf(d.format, DISK_FORMATS, `${f}.format`);
    if (d.firmware_path) validatePathSyntax(d.firmware_path, `${f}.firmware_path`);
    normBoot = { source: "disk", disk: { ...d } };
  } else if (boot.volume) {
    const v = boot.volume;
    const f = `${field}.boot.volume`;
    const volume = validateRef(v.volume, `${f}.volume`, "a volume");
    if (v.firmware_path) validatePathSyntax(v.firmware_path, `${f}.firmware_path`);
    normBoot = { source: "volume", volume: { volume, firmware_path: v.firmware_path ?? "" } };
  }

  const disks = (spec.disks ?? []).map((d, i) => {
    const f = `${field}.disks[${i}]`;
    validatePathSyntax(d.path, `${f}.path`);
    if (d.format) oneOf(d.format, DISK_FORMATS, `${f}.format`);
    return { path: d.path, format: d.format || "", read_only: !!d.read_only };
  });
  if (disks.length > 16) throw invalid(`${field}.disks`, "at most 16 extra disks");

  const net = spec.network ?? { mode: "", port_forwards: [] };
  const mode = oneOf(net.mode || "user", ["user", "none"] as const, `${field}.network.mode`);
  const port_forwards = (net.port_forwards ?? []).map((p, i): PortForward => {
    const f = `${field}.network.port_forwards[${i}]`;
    const protocol = oneOf(p.protocol || "tcp", ["tcp", "udp"] as const, `${f}.protocol`);
    const host_port = p.host_port === 0 ? 0 : intIn(p.host_port, LIMITS.hostPort, `${f}.host_port`);
    const guest_port = intIn(p.guest_port, LIMITS.port, `${f}.guest_port`);
    return { protocol, host_port, guest_port };
  });
  if (mode === "none" && port_forwards.length > 0) {
    throw invalid(
      `${field}.network.port_forwards`,
      'forwarded ports need a network: network.mode "user", not "none"',
    );
  }
  const seen = new Set<string>();
  port_forwards.forEach((p, i) => {
    const key = `${p.protocol}/${p.guest_port}`;
    if (seen.has(key)) {
      throw invalid(
        `${field}.network.port_forwards[${i}].guest_port`,
        `guest port ${key} is forwarded twice`,
      );
    }
    seen.add(key);
    if (p.host_port) {
      const hk = `${p.protocol}:host:${p.host_port}`;
      if (seen.has(hk)) {
        throw invalid(`${field}.network.port_forwards[${i}].host_port`, "used twice");
      }
      seen.add(hk);
    }
  });

  const power_state = spec.power_state === "POWER_STATE_UNSPECIFIED" || !spec.power_state
    ? "POWER_OFF"
    : oneOf(String(spec.power_state), ["POWER_ON", "POWER_OFF"] as const, `${field}.power_state`);
  return {
    arch,
    machine,
    cpu_cores,
    memory_mb,
    boot: normBoot,
    disks,
    network: { mode, port_forwards },
    accelerator,
    power_state,
    volumes: normalizeVolumes(spec.volumes, normBoot.volume?.volume, field),
    cloud_init: normalizeCloudInit(spec.cloud_init, field),
    wait_for: normalizeWaitFor(spec.wait_for, port_forwards, field),
    network_interfaces: normalizeInterfaces(spec.network_interfaces, field),
  };
}
