// The infrasim_vm resource: schema, conversions between Terraform objects and API
// VMs, and plan/apply/read/import semantics.
import type * as T from "../api/gen/types.ts";
import type { DeepPartial, InfrasimClient } from "../api/client.ts";
import { ApiError, Status } from "../api/errors.ts";
import { normalizeSpec, validateLabels, validateName } from "../api/validate.ts";
import { checkUserFile } from "../api/host_files.ts";
import { defaultDataDir } from "../api/client.ts";
import { hostArch } from "../qemu/host.ts";
import { containsUnknown, type CtyValue, isUnknown, toNumber, UNKNOWN } from "./cty.ts";
import { applyDefaults, type BlockDef, nullObject } from "./schema.ts";
import { diag, errorDiag, type FieldMap, type Path } from "./diagnostics.ts";

type Obj = Record<string, CtyValue>;

const defaultArch = hostArch() === "aarch64" ? "aarch64" : "x86_64";

export const VM_SCHEMA: BlockDef = {
  description: "A QEMU virtual machine run by infrasimd.",
  attributes: [
    { name: "id", type: "string", computed: true, description: "The VM's UUID." },
    {
      name: "name",
      type: "string",
      required: true,
      forceNew: true,
      description: "Unique name, a DNS label. Changing it replaces the VM.",
    },
    {
      name: "arch",
      type: "string",
      optional: true,
      computed: true,
      forceNew: true,
      default: defaultArch,
      description: "`aarch64` or `x86_64`; defaults to the host's. Changing it replaces the VM.",
    },
    {
      name: "machine",
      type: "string",
      optional: true,
      computed: true,
      forceNew: true,
      description: "QEMU machine type; defaults to `virt` (aarch64) or `q35` (x86_64).",
    },
    {
      name: "cpu_cores",
      type: "number",
      optional: true,
      computed: true,
      default: 1,
      description: "CPU cores (1-256). Updated in place; a running VM is restarted.",
    },
    {
      name: "memory_mb",
      type: "number",
      optional: true,
      computed: true,
      default: 512,
      description: "Memory in MiB (64-1048576). Updated in place; a running VM is restarted.",
    },
    {
      name: "kernel",
      type: "string",
      optional: true,
      forceNew: true,
      description: "Absolute path of a kernel for direct boot.",
    },
    {
      name: "initrd",
      type: "string",
      optional: true,
      forceNew: true,
      description: "Absolute path of an initrd for direct boot.",
    },
    {
      name: "cmdline",
      type: "string",
      optional: true,
      forceNew: true,
      description: "Kernel command line for direct boot.",
    },
    {
      name: "boot_disk",
      type: "string",
      optional: true,
      forceNew: true,
      description: "Absolute path of a qcow2/raw disk booted through UEFI (instead of `kernel`).",
    },
    {
      name: "labels",
      type: ["map", "string"],
      optional: true,
      description: "Labels, selectable with `infrasim vm list -l`. Updated in place.",
    },
    {
      name: "running",
      type: "bool",
      optional: true,
      computed: true,
      default: true,
      description: "Desired power state. Updated in place: false stops the VM (ACPI power " +
        "button, then forced), true starts it.",
    },
    {
      name: "accelerator",
      type: "string",
      computed: true,
      description: "The accelerator QEMU runs with: hvf, kvm or tcg.",
    },
    {
      name: "state",
      type: "string",
      computed: true,
      description: "RUNNING, STOPPED, CRASHED, ...",
    },
    {
      name: "serial_log",
      type: "string",
      computed: true,
      description: "Path of the serial console log.",
    },
    { name: "created_at", type: "string", computed: true, description: "RFC 3339 time." },
  ],
  blocks: [
    {
      typeName: "disk",
      nesting: "LIST",
      forceNew: true,
      block: {
        description: "An extra virtio-blk disk. Changing disks replaces the VM.",
        attributes: [
          { name: "path", type: "string", required: true, description: "Absolute image path." },
          {
            name: "format",
            type: "string",
            optional: true,
            description: "`qcow2` or `raw`; detected from the file when unset.",
          },
          {
            name: "read_only",
            type: "bool",
            optional: true,
            computed: true,
            default: false,
            description: "Attach read-only.",
          },
        ],
      },
    },
    {
      typeName: "port_forward",
      nesting: "LIST",
      forceNew: true,
      block: {
        description: "Forward 127.0.0.1:host_port to the guest. Changing forwards replaces the VM.",
        attributes: [
          { name: "guest_port", type: "number", required: true, description: "Guest port." },
          {
            name: "host_port",
            type: "number",
            optional: true,
            computed: true,
            description: "Host port on 127.0.0.1; allocated when unset.",
          },
          {
            name: "protocol",
            type: "string",
            optional: true,
            computed: true,
            default: "tcp",
            description: "`tcp` or `udp`.",
          },
        ],
      },
    },
    {
      typeName: "timeouts",
      nesting: "SINGLE",
      block: {
        attributes: ["create", "update", "delete"].map((name) => ({
          name,
          type: "string",
          optional: true,
          description: `How long ${name} may take, e.g. "10m" (default 10m).`,
        })),
      },
    },
  ],
};

/** Where API fields land in this resource, for diagnostics. */
export const VM_FIELDS: FieldMap = [
  [/^meta\.name$/, () => ["name"]],
  [/^meta\.labels/, () => ["labels"]],
  [/^spec\.arch$/, () => ["arch"]],
  [/^spec\.machine$/, () => ["machine"]],
  [/^spec\.cpu_cores$/, () => ["cpu_cores"]],
  [/^spec\.memory_mb$/, () => ["memory_mb"]],
  [/^spec\.boot\.kernel\.kernel_path$/, () => ["kernel"]],
  [/^spec\.boot\.kernel\.initrd_path$/, () => ["initrd"]],
  [/^spec\.boot\.kernel\.cmdline$/, () => ["cmdline"]],
  [/^spec\.boot\.disk\.path$/, () => ["boot_disk"]],
  [/^spec\.boot$/, () => ["kernel"]],
  [/^spec\.disks\[(\d+)\]\.(\w+)$/, (m) => ["disk", Number(m[1]), m[2]]],
  [/^spec\.network\.port_forwards\[(\d+)\]\.(\w+)$/, (m) => ["port_forward", Number(m[1]), m[2]]],
  [/^spec\.accelerator$/, () => ["accelerator"]],
];

const str = (v: CtyValue): string => (typeof v === "string" ? v : "");
const num = (v: CtyValue, path: string): number => {
  const n = toNumber(v, path);
  return typeof n === "number" ? n : 0;
};

/** The API spec for a (known) configuration or plan object. */
export function specFromObject(o: Obj): DeepPartial<T.VmSpec> {
  const kernel = str(o.kernel);
  const bootDisk = str(o.boot_disk);
  const boot: DeepPartial<T.BootSpec> = kernel
    ? { kernel: { kernel_path: kernel, initrd_path: str(o.initrd), cmdline: str(o.cmdline) } }
    : bootDisk
    ? { disk: { path: bootDisk } }
    : {};
  return {
    arch: str(o.arch) || defaultArch,
    machine: str(o.machine),
    cpu_cores: o.cpu_cores === null ? 1 : num(o.cpu_cores, "cpu_cores"),
    memory_mb: o.memory_mb === null ? 512 : num(o.memory_mb, "memory_mb"),
    boot,
    disks: ((o.disk ?? []) as Obj[]).map((d) => ({
      path: str(d.path),
      format: str(d.format),
      read_only: d.read_only === true,
    })),
    network: {
      mode: "user",
      port_forwards: ((o.port_forward ?? []) as Obj[]).map((p) => ({
        guest_port: num(p.guest_port, "guest_port"),
        host_port: isUnknown(p.host_port) || p.host_port === null
          ? 0
          : num(p.host_port, "host_port"),
        protocol: str(p.protocol) || "tcp",
      })),
    },
    power_state: o.running === false ? "POWER_OFF" : "POWER_ON",
  };
}

/** A nested block list; an unknown list (dynamic block, unknown for_each) is empty here. */
function listOf(v: CtyValue | undefined): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

function labelsOf(o: Obj): Record<string, string> {
  return (o.labels && typeof o.labels === "object" && !Array.isArray(o.labels)
    ? o.labels
    : {}) as Record<string, string>;
}

/** Empty strings and maps from the API read back as the prior's null or empty form. */
function same<V extends CtyValue>(
  apiValue: V,
  prior: CtyValue,
  empty: (v: V) => boolean,
): CtyValue {
  return empty(apiValue)
    ? (prior !== undefined && prior !== null && empty(prior as V) ? prior : null)
    : apiValue;
}

/** The Terraform object for an API VM; prior keeps representation choices stable. */
export function objectFromVm(vm: T.Vm, prior: Obj | null): Obj {
  const m = vm.meta!, s = vm.spec!, st = vm.status!;
  const p = prior ?? {};
  const emptyStr = (v: CtyValue) => v === "";
  const k = s.boot?.kernel;
  const priorDisks = (p.disk ?? []) as Obj[];
  return {
    id: m.id,
    name: m.name,
    arch: s.arch,
    machine: s.machine,
    cpu_cores: s.cpu_cores,
    memory_mb: s.memory_mb,
    kernel: k ? same(k.kernel_path, p.kernel, emptyStr) : null,
    initrd: k ? same(k.initrd_path, p.initrd, emptyStr) : null,
    cmdline: k ? same(k.cmdline, p.cmdline, emptyStr) : null,
    boot_disk: s.boot?.disk ? s.boot.disk.path : null,
    labels: same(m.labels as Obj, p.labels, (v) => Object.keys(v as Obj).length === 0),
    running: st.state === "RUNNING" || st.state === "STARTING",
    accelerator: st.accelerator || null,
    state: st.state,
    serial_log: st.serial_log_path,
    created_at: m.created_at,
    disk: s.disks.map((d, i) => ({
      path: d.path,
      format: same(d.format, priorDisks[i]?.format, emptyStr),
      read_only: d.read_only,
    })),
    port_forward: s.network!.port_forwards.map((f) => {
      const got = st.port_forwards.find((a) =>
        a.protocol === f.protocol && a.guest_port === f.guest_port
      );
      return { guest_port: f.guest_port, host_port: got?.host_port ?? null, protocol: f.protocol };
    }),
    timeouts: p.timeouts ?? null,
  };
}

/** Syntax-level checks of a configuration, skipping unknown values. */
export function validateVmConfig(config: Obj): T.Diagnostic[] {
  const out: T.Diagnostic[] = [];
  const check = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      out.push(errorDiag(e, "Invalid configuration", VM_FIELDS));
    }
  };
  if (typeof config.name === "string") check(() => validateName(config.name, "meta.name"));
  if (config.labels && !containsUnknown(config.labels)) {
    check(() => validateLabels(labelsOf(config), "meta.labels"));
  }
  if (
    config.kernel && config.boot_disk && !isUnknown(config.kernel) && !isUnknown(config.boot_disk)
  ) {
    out.push(
      diag("Conflicting boot sources", "set either kernel or boot_disk, not both", ["boot_disk"]),
    );
  }
  if ((config.initrd || config.cmdline) && config.kernel === null) {
    out.push(diag("Missing kernel", "initrd and cmdline need kernel", ["kernel"]));
  }
  // The spec checks, on a copy where unknown values are replaced by valid stand-ins.
  const known = (v: CtyValue, standIn: CtyValue) => (containsUnknown(v) ? standIn : v);
  const probe: Obj = {
    ...config,
    arch: known(config.arch, defaultArch),
    machine: known(config.machine, null),
    cpu_cores: known(config.cpu_cores, 1),
    memory_mb: known(config.memory_mb, 512),
    kernel: known(config.kernel, "/unknown"),
    initrd: known(config.initrd, null),
    cmdline: known(config.cmdline, null),
    boot_disk: known(config.boot_disk, null),
    disk: listOf(config.disk).map((d) => ({
      path: known(d.path, "/unknown"),
      format: known(d.format, null),
      read_only: known(d.read_only, false),
    })),
    port_forward: listOf(config.port_forward).map((p) => ({
      guest_port: known(p.guest_port, 1),
      host_port: known(p.host_port, null),
      protocol: known(p.protocol, null),
    })),
  };
  // The daemon reads 0 as "use the default", so the applied state would not match the plan.
  if (config.cpu_cores === 0) {
    out.push(diag("Invalid cpu_cores", "must be between 1 and 256", ["cpu_cores"]));
  }
  listOf(config.port_forward).forEach((p, i) => {
    if (p.host_port === 0) {
      out.push(diag(
        `Invalid port_forward.${i}.host_port`,
        "must be between 1024 and 65535; leave it unset to allocate a free port",
        ["port_forward", i, "host_port"],
      ));
    }
  });
  if (!config.kernel || !config.boot_disk) {
    check(() => normalizeSpec(specFromObject(probe) as T.VmSpec));
  }
  // Files must exist on this host (the daemon is local: it only listens on loopback).
  const files: Array<[CtyValue, string]> = [
    [config.kernel, "spec.boot.kernel.kernel_path"],
    [config.initrd, "spec.boot.kernel.initrd_path"],
    [config.boot_disk, "spec.boot.disk.path"],
    ...listOf(config.disk).map((
      d,
      i,
    ): [CtyValue, string] => [d.path, `spec.disks[${i}].path`]),
  ];
  for (const [v, field] of files) {
    if (typeof v === "string" && v.startsWith("/")) {
      check(() => checkUserFile(v, field, defaultDataDir()));
    }
  }
  const t = config.timeouts as Obj | null;
  for (const which of ["create", "update", "delete"]) {
    const v = t?.[which] ?? null;
    if (typeof v !== "string") continue;
    try {
      parseTimeout(v, 0);
    } catch (e) {
      out.push(
        diag("Invalid duration", `${(e as Error).message}; use e.g. "90s", "10m" or "1h"`, [
          "timeouts",
          which,
        ]),
      );
    }
  }
  // Several checks can report the same field; keep the first.
  const seen = new Set<string>();
  return out.filter((d) => {
    const key = JSON.stringify(d.attribute);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function changed(a: CtyValue, b: CtyValue): boolean {
  return JSON.stringify(a, replacer) !== JSON.stringify(b, replacer);
}
/** Unknowns as a marker, object keys sorted: Terraform sends attributes in sorted order. */
function replacer(_k: string, v: unknown) {
  if (isUnknown(v)) return "__unknown__";
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  }
  return v;
}

const COMPUTED_ONLY = ["id", "accelerator", "serial_log", "created_at"];

/**
 * The planned state: defaults filled, computed values kept where nothing changes,
 * unknown only where they will, and requires_replace for immutable attributes.
 */
export function planVm(
  prior: Obj | null,
  proposed: Obj,
  config: Obj,
): { planned: Obj; replace: Path[] } {
  // Defaults apply wherever the configuration is null, not only on create: removing
  // `running = false` from the configuration means running again.
  const planned = applyDefaults(VM_SCHEMA, proposed, config);
  if (planned.machine === null) {
    planned.machine = typeof planned.arch === "string"
      ? (planned.arch === "aarch64" ? "virt" : "q35")
      : UNKNOWN;
  }
  const priorPorts = listOf(prior?.port_forward);
  if (Array.isArray(planned.port_forward)) {
    planned.port_forward = listOf(planned.port_forward).map((p) => {
      if (p.host_port !== null) return p;
      const held = priorPorts.find((q) =>
        q.guest_port === p.guest_port && q.protocol === p.protocol
      );
      return { ...p, host_port: held?.host_port ?? UNKNOWN };
    });
  }
  // The state the daemon will report: a VM created stopped was never started (PENDING);
  // stopping a running one gives STOPPED; a stopped one keeps whatever it had.
  const target = planned.running !== false
    ? "RUNNING"
    : prior === null
    ? "PENDING"
    : prior.running === true
    ? "STOPPED"
    : prior.state;
  if (prior === null) {
    for (const a of COMPUTED_ONLY) planned[a] = UNKNOWN;
    planned.state = target;
    return { planned, replace: [] };
  }
  const replace: Path[] = [];
  for (const a of VM_SCHEMA.attributes) {
    if (a.forceNew && changed(prior[a.name], planned[a.name])) replace.push([a.name]);
  }
  for (const b of VM_SCHEMA.blocks ?? []) {
    if (b.forceNew && changed(prior[b.typeName], planned[b.typeName])) replace.push([b.typeName]);
  }
  if (replace.length > 0) {
    for (const a of [...COMPUTED_ONLY, "state"]) planned[a] = UNKNOWN;
    return { planned, replace };
  }
  const { state: _s, ...rest } = planned;
  const { state: _p, ...priorRest } = prior;
  if (changed(rest, { ...priorRest, timeouts: rest.timeouts })) planned.state = target;
  return { planned, replace };
}

/** "10m", "90s", "1h30m" -> seconds; null -> fallback. */
export function parseTimeout(v: CtyValue, fallback: number): number {
  if (typeof v !== "string" || v === "") return fallback;
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let total = 0, consumed = 0, m: RegExpExecArray | null;
  while ((m = re.exec(v))) {
    total += Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
    consumed += m[0].length;
  }
  if (consumed !== v.length || total <= 0) throw new Error(`bad duration ${JSON.stringify(v)}`);
  return total;
}

function timeout(o: Obj | null, which: "create" | "update" | "delete"): number {
  const t = (o?.timeouts ?? null) as Obj | null;
  return parseTimeout(t?.[which] ?? null, 600);
}

export interface ApplyResult {
  state: Obj | null;
  diagnostics: T.Diagnostic[];
}

/** Creates, updates or deletes; waits until the VM is in its desired power state. */
export async function applyVm(
  client: InfrasimClient,
  prior: Obj | null,
  planned: Obj | null,
): Promise<ApplyResult> {
  if (planned === null) {
    try {
      await client.deleteVm(str(prior!.id), { timeoutSeconds: timeout(prior, "delete") });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === Status.NOT_FOUND)) {
        return { state: prior, diagnostics: [errorDiag(e, "Cannot delete VM")] };
      }
    }
    return { state: null, diagnostics: [] };
  }
  const spec = specFromObject(planned);
  const labels = labelsOf(planned);
  try {
    const vm = prior === null
      ? await client.createVm({ meta: { name: str(planned.name), labels }, spec }, {
        timeoutSeconds: timeout(planned, "create"),
      })
      : await client.updateVm({ ref: str(prior.id), meta: { labels }, spec }, {
        timeoutSeconds: timeout(planned, "update"),
      });
    const state = objectFromVm(vm, planned);
    const want = planned.running === false ? "STOPPED" : "RUNNING";
    const st = vm.status!.state;
    const ok = want === "RUNNING" ? st === "RUNNING" : st !== "RUNNING" && st !== "STARTING";
    if (!ok) {
      return {
        state,
        diagnostics: [diag(
          `VM ${vm.meta!.name} is ${st}, not ${want}`,
          vm.status!.message || vm.status!.last_exit_reason,
          ["running"],
        )],
      };
    }
    return { state, diagnostics: [] };
  } catch (e) {
    // Nothing was created (or changed): keep the prior state.
    return {
      state: prior,
      diagnostics: [errorDiag(e, `Cannot ${prior ? "update" : "create"} VM`, VM_FIELDS)],
    };
  }
}

/** The current object, or null when the VM no longer exists (Terraform plans a create). */
export async function readVm(client: InfrasimClient, current: Obj): Promise<Obj | null> {
  try {
    return objectFromVm(await client.getVm(str(current.id)), current);
  } catch (e) {
    if (e instanceof ApiError && e.code === Status.NOT_FOUND) return null;
    throw e;
  }
}

/** Import by id or name: the full object, as a read would return it. */
export async function importVm(client: InfrasimClient, ref: string): Promise<Obj> {
  return objectFromVm(await client.getVm(ref), { ...nullObject(VM_SCHEMA) });
}
