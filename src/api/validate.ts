// Validation of API input that needs no host access. Every error names its field,
// e.g. "spec.memory_mb: must be between 64 and 1048576". Host checks (do files
// exist?) live in the daemon, which owns the host.
import { invalid } from "./errors.ts";
import type { PortForward, VmSpec } from "./gen/types.ts";

export const LIMITS = {
  memoryMb: [64, 1048576],
  cpuCores: [1, 256],
  port: [1, 65535],
} as const;

export const ARCHES = ["aarch64", "x86_64"] as const;
export type Arch = (typeof ARCHES)[number];
export const ACCELERATORS = ["hvf", "kvm", "tcg"] as const;
export type Accelerator = (typeof ACCELERATORS)[number];
export const DISK_FORMATS = ["qcow2", "raw"] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateName(name: unknown, field = "meta.name"): string {
  if (typeof name !== "string" || name === "") throw invalid(field, "must not be empty");
  if (name.length > 63) throw invalid(field, `must be at most 63 characters (got ${name.length})`);
  if (!DNS_LABEL.test(name)) {
    throw invalid(
      field,
      `${
        JSON.stringify(name)
      } is not a DNS label: use lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes label rules: [prefix/]name, name and value at most 63 characters. */
export function validateLabels(labels: Record<string, string>, field: string): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const f = `${field}[${JSON.stringify(key)}]`;
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : "";
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (slash >= 0 && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
      throw invalid(f, "key prefix must be a DNS subdomain");
    }
    if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
      throw invalid(f, "key must be 1-63 characters of [A-Za-z0-9_.-], alphanumeric at both ends");
    }
    if (value.length > 63 || (value !== "" && !LABEL_NAME.test(value))) {
      throw invalid(
        f,
        "value must be at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends",
      );
    }
  }
}

export function validateAnnotations(annotations: Record<string, string>, field: string): void {
  let total = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key === "" || key.length > 316) {
      throw invalid(`${field}[${JSON.stringify(key)}]`, "key must be 1-316 characters");
    }
    total += key.length + value.length;
  }
  if (total > 256 * 1024) throw invalid(field, "must total at most 256 KiB");
}

function intIn(value: number, [min, max]: readonly [number, number], field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be between ${min} and ${max}`);
  }
  return value;
}

/** A path as accepted from users: absolute, printable, no characters QEMU would mangle. */
export function validatePathSyntax(path: string, field: string): string {
  if (path === "") throw invalid(field, "must not be empty");
  if (!path.startsWith("/")) {
    throw invalid(field, `must be an absolute path (got ${JSON.stringify(path)})`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) throw invalid(field, "must not contain control characters");
  if (path.length > 4096) throw invalid(field, "must be at most 4096 characters");
  return path;
}

function oneOf<V extends string>(value: string, allowed: readonly V[], field: string): V {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(field, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
  }
  return value as V;
}

/**
 * Checks a spec and fills its defaults. Returns a new, normalized spec; the input
 * is not modified. Paths are only checked for syntax here.
 */
export function normalizeSpec(spec: VmSpec | null | undefined, field = "spec"): VmSpec {
  if (!spec) throw invalid(field, "is required");
  const arch = oneOf(spec.arch || "", ARCHES, `${field}.arch`);
  const machine = spec.machine || (arch === "aarch64" ? "virt" : "q35");
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(machine)) {
    throw invalid(`${field}.machine`, `${JSON.stringify(machine)} is not a machine type name`);
  }
  const cpu_cores = intIn(spec.cpu_cores || 1, LIMITS.cpuCores, `${field}.cpu_cores`);
  const memory_mb = intIn(spec.memory_mb, LIMITS.memoryMb, `${field}.memory_mb`);
  const accelerator = spec.accelerator
    ? oneOf(spec.accelerator, ACCELERATORS, `${field}.accelerator`)
    : "";

  const boot = spec.boot ?? {};
  let normBoot: VmSpec["boot"] = {};
  if (boot.kernel && boot.disk) {
    throw invalid(`${field}.boot`, "set either kernel or disk, not both");
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
    const host_port = p.host_port === 0 ? 0 : intIn(p.host_port, [1024, 65535], `${f}.host_port`);
    const guest_port = intIn(p.guest_port, LIMITS.port, `${f}.guest_port`);
    return { protocol, host_port, guest_port };
  });
  if (mode === "none" && port_forwards.length > 0) {
    throw invalid(`${field}.network.port_forwards`, 'need network.mode "user"');
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
  };
}
