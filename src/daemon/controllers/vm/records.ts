// What a VM record starts as, and what an update keeps of the current one.
import type * as T from "../../../api/gen/infrasim.v1.ts";

/**
 * A forward sent back with the host port the daemon allocated for it (what a client read
 * from the status) is still an allocated one: stored as 0, so that it is not a change
 * that restarts the VM, and stays free to move if another program takes the port.
 */
export function keepAutoPorts(spec: T.VmSpec, cur: T.VmSpec, held: T.PortForward[]): T.VmSpec {
  const auto = (p: T.PortForward) =>
    cur.network?.port_forwards.some((c) =>
      c.protocol === p.protocol && c.guest_port === p.guest_port && c.host_port === 0
    ) &&
    held.some((h) =>
      h.protocol === p.protocol && h.guest_port === p.guest_port && h.host_port === p.host_port
    );
  const port_forwards = spec.network!.port_forwards.map((p) =>
    p.host_port && auto(p) ? { ...p, host_port: 0 } : p
  );
  return { ...spec, network: { ...spec.network!, port_forwards } };
}

export function emptyStatus(serialLog: string): T.VmStatus {
  return {
    state: "PENDING",
    accelerator: "",
    pid: 0,
    last_exit_reason: "",
    serial_log_path: serialLog,
    port_forwards: [],
    started_at: "",
    message: "",
    observed_generation: 0,
    qemu_binary: "",
    links: [],
    ready: false,
    ready_at: "",
    vnc_socket_path: "",
    restored_at: "",
    restored_from: "",
  };
}
