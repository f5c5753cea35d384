// Validation of API input that needs no host access, shared by every kind. Every
// error names its field, e.g. "spec.memory_mb: must be between 64 and 1048576", and
// quotes at most a short part of the input. Host checks (do files exist?) live in the
// daemon, which owns the host.
import { invalid, quote, Violations } from "../errors.ts";

export const LIMITS = {
  memoryMb: [64, 1048576],
  cpuCores: [1, 256],
  port: [1, 65535],
  /** Forwarded host ports: unprivileged only; 0 (allocate) is handled by the caller. */
  hostPort: [1024, 65535],
  timeoutSeconds: [0, 86400],
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
        quote(name)
      } is not a DNS label: use lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes label rules: [prefix/]name, name and value at most 63 characters. */
export function validateLabels(labels: Record<string, string>, field: string): void {
  const vs = new Violations();
  for (const [key, value] of Object.entries(labels ?? {})) {
    const f = `${field}[${quote(key)}]`;
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : "";
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (slash >= 0 && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
      vs.add(f, "key prefix must be a DNS subdomain");
    } else if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
      vs.add(f, "key must be 1-63 characters of [A-Za-z0-9_.-], alphanumeric at both ends");
    } else if (value.length > 63 || (value !== "" && !LABEL_NAME.test(value))) {
      vs.add(f, "value must be at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends");
    }
  }
  vs.done();
}

export function validateAnnotations(annotations: Record<string, string>, field: string): void {
  let total = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key === "" || key.length > 316) {
      throw invalid(`${field}[${quote(key)}]`, "key must be 1-316 characters");
    }
    total += key.length + value.length;
  }
  if (total > 256 * 1024) throw invalid(field, "must total at most 256 KiB");
}

export function intIn(
  value: number,
  [min, max]: readonly [number, number],
  field: string,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be between ${min} and ${max}`);
  }
  return value;
}

/** A path as accepted from users: absolute, printable, no characters QEMU would mangle. */
export function validatePathSyntax(path: string, field: string): string {
  if (path === "") throw invalid(field, "must not be empty");
  if (!path.startsWith("/")) {
    throw invalid(field, `must be an absolute path (got ${quote(path)})`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) throw invalid(field, "must not contain control characters");
  if (path.length > 4096) throw invalid(field, "must be at most 4096 characters");
  return path;
}

export function oneOf<V extends string>(value: string, allowed: readonly V[], field: string): V {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(field, `must be one of ${allowed.join(", ")} (got ${quote(value)})`);
  }
  return value as V;
}
