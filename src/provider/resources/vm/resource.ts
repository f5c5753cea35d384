// The infrasim_vm resource: its schema, the checks and planning only a VM needs, and
// create/update/delete/read/import. Conversions are in vm_convert.ts.
import type * as P from "../../../api/gen/tfplugin6.ts";
import type { InfrasimClient } from "../../../api/client.ts";
import { defaultArch } from "../../../api/arch.ts";
import { ApiError, Status } from "../../../api/errors.ts";
import { checkUserFile } from "../../../host/files.ts";
import { defaultDataDir } from "../../../api/client.ts";
import { validateLabels, validateName } from "../../../api/validate/common.ts";
import { containsUnknown, type CtyValue } from "../../framework/cty.ts";
import { diag, errorDiags } from "../../framework/diagnostics.ts";
import type { ApplyResult, Obj, Resource } from "../../framework/resource.ts";
import { timeoutSeconds } from "../../framework/timeouts.ts";
import { deleteObject, readObject } from "../../framework/crud.ts";
import { nullObject } from "../../framework/schema.ts";
import { dataSourceFrom } from "../../framework/data_source.ts";
import { VM_SCHEMA } from "./schema.ts";
import { derivePlan, modifyPlan } from "./plan.ts";
import { objectFromVm, specFromObject } from "./convert.ts";
import { labelsOf, listOf, str } from "../../framework/values.ts";

/** Syntax-level checks of a configuration, skipping unknown values. */
async function validate(config: Obj): Promise<P.Diagnostic[]> {
  const out: P.Diagnostic[] = [];
  const check = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (e) {
      out.push(...errorDiags(e, "Invalid configuration", VM_SCHEMA));
    }
  };
  if (typeof config.name === "string") await check(() => validateName(config.name, "meta.name"));
  if (config.labels && !containsUnknown(config.labels)) {
    await check(() => validateLabels(labelsOf(config), "meta.labels"));
  }
  const boots = ["kernel", "boot_disk", "boot_volume"].filter((k) => config[k] !== null);
  if (boots.length > 1) {
    out.push(diag(
      "Conflicting boot sources",
      `set one of kernel, boot_disk and boot_volume, not ${boots.join(" and ")}`,
      [boots[1]],
    ));
  }
  if ((config.initrd || config.cmdline) && config.kernel === null) {
    out.push(diag("Missing kernel", "initrd and cmdline need kernel", ["kernel"]));
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
  // The shared spec checks (ranges before encoding), with unknowns replaced by stand-ins.
  const known = (v: CtyValue, standIn: CtyValue) => (containsUnknown(v) ? standIn : v);
  const probe: Obj = {
    ...config,
    arch: known(config.arch, defaultArch()),
    machine: known(config.machine, null),
    cpu_cores: known(config.cpu_cores, null),
    memory_mb: known(config.memory_mb, null),
    kernel: known(config.kernel, "/unknown"),
    initrd: known(config.initrd, null),
    cmdline: known(config.cmdline, null),
    boot_disk: config.kernel ? null : known(config.boot_disk, null),
    boot_volume: boots.length > 1 ? null : known(config.boot_volume, "unknown-boot-volume"),
    volume: listOf(config.volume).map((v, i) => ({
      volume_id: known(v.volume_id, `unknown-volume-${i}`),
      read_only: known(v.read_only, false),
    })),
    cloud_init: listOf(config.cloud_init).map((c) => ({
      user_data: known(c.user_data, null),
      meta_data: known(c.meta_data, null),
      network_config: known(c.network_config, null),
      hostname: known(c.hostname, null),
      ssh_authorized_keys: known(c.ssh_authorized_keys, null),
      user: known(c.user, null),
    })),
    wait_for: listOf(config.wait_for).map((w) => ({
      guest_port: known(w.guest_port, null),
      serial: known(w.serial, null),
    })),
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
    network_interface: listOf(config.network_interface).map((n, i) => ({
      network_id: known(n.network_id, `unknown-network-${i}`),
      ip: known(n.ip, null),
      mac: known(n.mac, null),
      link_qos: known(n.link_qos, []),
    })),
  };
  await check(() => specFromObject(probe));
  // Files must exist on this host (the daemon is local: it only listens on loopback).
  const files: Array<[CtyValue, string]> = [
    [config.kernel, "spec.boot.kernel.kernel_path"],
    [config.initrd, "spec.boot.kernel.initrd_path"],
    [config.boot_disk, "spec.boot.disk.path"],
    ...listOf(config.disk).map((d, i): [CtyValue, string] => [d.path, `spec.disks[${i}].path`]),
  ];
  for (const [v, field] of files) {
    if (typeof v === "string" && v.startsWith("/")) {
      await check(() => checkUserFile(v, field, defaultDataDir()));
    }
  }
  return out;
}

/** How to bring a VM that exists in the daemon under this configuration's management. */
function importHint(name: string, id: string): string {
  return `If it is the VM this resource describes (an interrupted apply leaves such VMs), ` +
    `import it instead of creating it: add an import block\n\n  import {\n    to = <this resource's address>\n` +
    `    id = "${id}"\n  }\n\nor run: terraform import <this resource's address> ${id}\n\n` +
    `Otherwise choose another name, or delete it: infrasim vm delete --force ${name}`;
}

/** Failures after which a create may or may not have happened on the daemon. */
const UNSURE = [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED, Status.UNKNOWN];

/**
 * After an answer that never came: a VM of this name created since the call began is
 * this call's, returned with the error so Terraform records it (tainted).
 */
async function unsure(client: InfrasimClient, planned: Obj, t0: number, e: ApiError) {
  const name = str(planned.name);
  const vm = await client.getVm(name, { timeoutSeconds: 5 }).catch(() => undefined);
  const ours = vm && Date.parse(vm.meta!.created_at) >= t0 - 2000;
  const detail = ours
    ? "it was created; Terraform keeps it as tainted and replaces it on the next apply"
    : `if \`infrasim vm get ${name}\` shows it later, import it: terraform import <this resource's address> ${name}`;
  return {
    state: ours ? objectFromVm(vm!, planned) : null,
    diagnostics: [diag(`Cannot create VM ${name}`, `${Status[e.code]}: ${e.message}\n\n${detail}`)],
  };
}

async function create(client: InfrasimClient, planned: Obj): Promise<ApplyResult> {
  const name = str(planned.name);
  const timeoutS = timeoutSeconds(planned, "create");
  const t0 = Date.now();
  let vm;
  try {
    // Created stopped, then started: the id is known before the slow part, so an
    // interrupted start still leaves Terraform a (tainted) state to converge from.
    const spec = { ...specFromObject(planned), power_state: "POWER_OFF" as const };
    vm = await client.createVm({ meta: { name, labels: labelsOf(planned) }, spec }, {
      timeoutSeconds: timeoutS,
    });
  } catch (e) {
    if (e instanceof ApiError && e.code === Status.ALREADY_EXISTS) {
      const existing = await client.getVm(name, { timeoutSeconds: 10 }).catch(() => undefined);
      const id = existing?.meta?.id ?? name;
      return {
        state: null,
        diagnostics: [diag(
          `A VM named "${name}" already exists`,
          `A VM named "${name}" already exists (id ${id}). ${importHint(name, id)}`,
          ["name"],
        )],
      };
    }
    if (e instanceof ApiError && UNSURE.includes(e.code)) {
      return await unsure(client, planned, t0, e);
    }
    return { state: null, diagnostics: errorDiags(e, "Cannot create VM", VM_SCHEMA) };
  }
  if (planned.running === false) return { state: objectFromVm(vm, planned), diagnostics: [] };
  try {
    vm = await client.startVm(vm.meta!.id, { timeoutSeconds: timeoutS });
  } catch (e) {
    const state = objectFromVm(vm, planned);
    return { state, diagnostics: errorDiags(e, `VM ${name} was created but did not start`) };
  }
  return await ready(client, checked(vm, planned), planned, t0, timeoutS);
}

/**
 * With wait_for, waits until the guest is ready, within what is left of the timeout.
 * A guest that is not ready in time keeps its state (Terraform taints a new one).
 */
async function ready(
  client: InfrasimClient,
  res: ApplyResult,
  planned: Obj,
  t0: number,
  timeoutS: number,
): Promise<ApplyResult> {
  if (res.diagnostics.length || !listOf(planned.wait_for).length || planned.running === false) {
    return res;
  }
  const left = Math.max(1, Math.floor(timeoutS - (Date.now() - t0) / 1000));
  try {
    const vm = await client.waitVm({
      ref: str(planned.id) || str(res.state!.id),
      timeout_seconds: left,
    }, {
      timeoutSeconds: left + 10,
    });
    return { state: objectFromVm(vm, planned), diagnostics: [] };
  } catch (e) {
    return {
      state: res.state,
      diagnostics: errorDiags(e, `VM ${str(planned.name)} is not ready`, VM_SCHEMA),
    };
  }
}

/** The state, with an error when the VM is not in the power state the plan wants. */
function checked(vm: Awaited<ReturnType<InfrasimClient["getVm"]>>, planned: Obj): ApplyResult {
  const state = objectFromVm(vm, planned);
  const want = planned.running === false ? "STOPPED" : "RUNNING";
  const st = vm.status!.state;
  const ok = want === "RUNNING" ? st === "RUNNING" : st !== "RUNNING" && st !== "STARTING";
  if (ok) return { state, diagnostics: [] };
  return {
    state,
    diagnostics: [diag(
      `VM ${vm.meta!.name} is ${st}, not ${want}`,
      vm.status!.message || vm.status!.last_exit_reason,
      ["running"],
    )],
  };
}

async function update(client: InfrasimClient, prior: Obj, planned: Obj): Promise<ApplyResult> {
  const t0 = Date.now();
  const timeoutS = timeoutSeconds(planned, "update");
  try {
    const vm = await client.updateVm({
      ref: str(prior.id),
      meta: { labels: labelsOf(planned) },
      spec: specFromObject(planned),
    }, { timeoutSeconds: timeoutS });
    return await ready(client, checked(vm, planned), planned, t0, timeoutS);
  } catch (e) {
    // Nothing was changed: keep the prior state.
    return { state: prior, diagnostics: errorDiags(e, "Cannot update VM", VM_SCHEMA) };
  }
}

function remove(client: InfrasimClient, prior: Obj): Promise<ApplyResult> {
  return deleteObject(
    () =>
      client.deleteVm({ ref: str(prior.id), force: true }, {
        timeoutSeconds: timeoutSeconds(prior, "delete"),
      }),
    prior,
    "VM",
  );
}

export const vmResource: Resource = {
  typeName: "infrasim_vm",
  schema: VM_SCHEMA,
  validate,
  derivePlan,
  modifyPlan,
  create,
  update,
  delete: remove,
  read: (client, current) =>
    readObject(() => client.getVm(str(current.id)), (v) => objectFromVm(v, current)),
  async importState(client, ref) {
    return objectFromVm(await client.getVm(ref), { ...nullObject(VM_SCHEMA) });
  },
};

/** infrasim_vm, the data source: one VM by name or id (its forwards as `port_forwards`). */
export const vmDataSource = dataSourceFrom(vmResource, {
  description: "Looks up one VM by name or id.",
  get: (c, ref) => c.getVm(ref),
  toObject: objectFromVm,
  rename: { port_forward: "port_forwards" },
});
