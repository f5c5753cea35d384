// Fixtures for the infrasim_vm unit tests: configurations, prior states, and values as
// Terraform sends them.
import assert from "node:assert/strict";
import { type CtyValue, decodeValue, encodeValue } from "../../src/provider/framework/cty.ts";
import { nullObject } from "../../src/provider/framework/schema.ts";
import { VM_SCHEMA } from "../../src/provider/resources/vm/schema.ts";
import { vmResource } from "../../src/provider/resources/vm/resource.ts";
import { planResource } from "../../src/provider/framework/plan.ts";
import { validateTimeouts } from "../../src/provider/framework/timeouts.ts";
import { hostArch } from "../../src/api/arch.ts";

export const planVm = (prior: Obj | null, proposed: Obj, config: Obj) =>
  planResource(vmResource, prior, proposed, config);
export const validateVmConfig = async (config: Obj) => [
  ...await vmResource.validate!(config),
  ...validateTimeouts(config),
];

export type Obj = Record<string, CtyValue>;

export const HOST_ARCH = hostArch() === "aarch64" ? "aarch64" : "x86_64";
export const HOST_MACHINE = HOST_ARCH === "aarch64" ? "virt" : "q35";
export const OTHER_ARCH = HOST_ARCH === "aarch64" ? "x86_64" : "aarch64";
/** A file that exists on any Linux or macOS host, standing in for kernels and disks. */
export const FILE = "/etc/hostname";
export const COMPUTED_ONLY = ["id", "accelerator", "serial_log", "vnc_socket", "created_at"];

/** A configuration object: every attribute present, null unless given. */
export function config(values: Obj = {}): Obj {
  return { ...nullObject(VM_SCHEMA), name: "web", kernel: FILE, ...values };
}

/** A port_forward block as written in configuration (host_port/protocol unset by default). */
export function pf(guest_port: number, extra: Obj = {}): Obj {
  return { guest_port, host_port: null, protocol: null, ...extra };
}

/** A disk block as written in configuration. */
export function disk(path: string, extra: Obj = {}): Obj {
  return { path, format: null, read_only: null, ...extra };
}

/** The state after a successful create of `cfg`: the create plan with computed values filled. */
export function created(cfg: Obj, host_ports: number[] = []): Obj {
  const { planned, replace } = planVm(null, cfg, cfg);
  assert.deepEqual(replace, []);
  return {
    ...planned,
    id: "0b5e3c1e-7f55-4d0c-9d5e-3a4b7c1f2e10",
    accelerator: "tcg",
    serial_log: "/home/u/.infrasim/vms/0b5e/serial.log",
    vnc_socket: null,
    ssh_host_key: null,
    created_at: "2025-01-02T03:04:05Z",
    // What the daemon reports: RUNNING, or PENDING for a VM created stopped.
    state: planned.running === false ? "PENDING" : "RUNNING",
    port_forward: (planned.port_forward as Obj[]).map((p, i) => ({
      ...p,
      host_port: host_ports[i] ?? 40000 + i,
    })),
  };
}

/**
 * Terraform's proposed new state for `cfg` given `prior`: configured values win, and
 * optional+computed attributes the configuration leaves null keep their prior value.
 */
export function proposedFor(prior: Obj, cfg: Obj): Obj {
  const out: Obj = { ...cfg };
  for (const a of VM_SCHEMA.attributes) {
    if (a.computed && cfg[a.name] === null) out[a.name] = prior[a.name];
  }
  const priorPf = (prior.port_forward ?? []) as Obj[];
  out.port_forward = ((cfg.port_forward ?? []) as Obj[]).map((p, i) => ({
    ...p,
    host_port: p.host_port ?? priorPf[i]?.host_port ?? null,
    protocol: p.protocol ?? priorPf[i]?.protocol ?? null,
  }));
  const priorDisks = (prior.disk ?? []) as Obj[];
  out.disk = ((cfg.disk ?? []) as Obj[]).map((d, i) => ({
    ...d,
    read_only: d.read_only ?? priorDisks[i]?.read_only ?? null,
  }));
  return out;
}

/** Object attributes in sorted order, as cty's msgpack marshaller sends them. */
export function sortedKeys(v: CtyValue): CtyValue {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys(v[k])]));
  }
  return v;
}

/** As Terraform would send the value: sorted keys, through the msgpack codec. */
export function wire(v: Obj): Obj {
  return decodeValue(encodeValue(sortedKeys(v))) as Obj;
}

export function assertAllAttributes(o: Obj): void {
  assert.deepEqual(Object.keys(o).sort(), Object.keys(nullObject(VM_SCHEMA)).sort());
}
