// infrasim_vm planning: values derived from the configuration, and the ones only the
// daemon decides (state, accelerator, allocated ports and addresses) made unknown or kept.
import type { CtyValue } from "../../framework/cty.ts";
import { UNKNOWN } from "../../framework/cty.ts";
import { diag } from "../../framework/diagnostics.ts";
import { changed } from "../../framework/plan.ts";
import type { Obj, PlanContext } from "../../framework/resource.ts";
import { listOf, str } from "../../framework/values.ts";

/** Machine from arch, and host ports kept where held. */
export function derivePlan(planned: Obj, prior: Obj | null): void {
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
}

/** The state the daemon will report (a VM created stopped was never started: PENDING). */
export function modifyPlan(planned: Obj, ctx: PlanContext): void {
  const { prior, config, replacing } = ctx;
  planInterfaces(planned, ctx);
  // Replacing: Terraform plans the new object again as a create; state stays unknown here.
  if (replacing) return;
  const target = planned.running !== false
    ? "RUNNING"
    : prior === null
    ? "PENDING"
    : prior.running === true
    ? "STOPPED"
    : prior.state;
  if (prior === null) {
    planned.state = target;
    return;
  }
  const { state: _s, ...rest } = planned;
  const { state: _p, ...priorRest } = prior;
  if (changed(rest, { ...priorRest, timeouts: rest.timeouts })) planned.state = target;
  if (
    listOf(planned.cloud_init).length && prior.ssh_host_key === null && planned.running !== false
  ) {
    planned.ssh_host_key = UNKNOWN; // made at the first start
  }
  if (!listOf(planned.cloud_init).length) planned.ssh_host_key = null;
  // The VNC socket exists while a VM with a screen runs; a start or a new display makes it.
  const screen = planned.display === "vnc" && planned.running !== false;
  const kept = prior.display === "vnc" && prior.running === true && prior.vnc_socket;
  planned.vnc_socket = !screen ? null : kept ? prior.vnc_socket : UNKNOWN;
  if (planned.running !== false && prior.running !== true) {
    // A start picks the accelerator (none yet if it never ran) and replaces an
    // allocated host port that another program took meanwhile.
    planned.accelerator = UNKNOWN;
    const configured = listOf(config.port_forward);
    if (Array.isArray(planned.port_forward)) {
      planned.port_forward = listOf(planned.port_forward).map((p, i) =>
        configured[i]?.host_port == null ? { ...p, host_port: UNKNOWN } : p
      );
    }
  }
}

/**
 * Addresses the daemon allocates: an interface keeps its IP on the same network and its
 * MAC at the same index, else both are unknown until applied. Adding, removing or moving
 * one restarts a running VM: the plan says so.
 */
function planInterfaces(planned: Obj, { prior, config, diagnostics }: PlanContext): void {
  if (!Array.isArray(planned.network_interface)) return;
  const configured = listOf(config.network_interface);
  const before = listOf(prior?.network_interface);
  planned.network_interface = listOf(planned.network_interface).map((n, i) => {
    const p = before[i];
    return {
      ...n,
      ip: configured[i]?.ip != null ? n.ip : p && p.network_id === n.network_id ? p.ip : UNKNOWN,
      mac: configured[i]?.mac != null ? n.mac : p ? p.mac : UNKNOWN,
    };
  });
  const wiring = (l: Obj[]): CtyValue =>
    l.map((n) => ({ network_id: n.network_id, ip: n.ip, mac: n.mac }));
  if (
    prior?.running === true && changed(wiring(before), wiring(listOf(planned.network_interface)))
  ) {
    diagnostics.push(diag(
      `VM ${str(planned.name)} will restart`,
      "Its network interfaces change (added, removed, or moved to another network or address); " +
        "QEMU cannot change NICs of a running VM. A link_qos change alone does not restart it.",
      ["network_interface"],
      "WARNING",
    ));
  }
}
