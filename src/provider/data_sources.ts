// Data sources: infrasim_vm (one VM by name or id) and infrasim_daemon.
import type { InfrasimClient } from "../api/client.ts";
import type { CtyValue } from "./cty.ts";
import type { BlockDef } from "./schema.ts";
import { objectFromVm } from "./vm_resource.ts";

type Obj = Record<string, CtyValue>;

const computed = (
  name: string,
  type: BlockDef["attributes"][number]["type"],
  description: string,
) => ({
  name,
  type,
  computed: true,
  description,
});

const PORT = ["object", { guest_port: "number", host_port: "number", protocol: "string" }] as const;

export const VM_DATA_SCHEMA: BlockDef = {
  description: "Looks up one VM by name or id.",
  attributes: [
    { name: "id", type: "string", optional: true, computed: true, description: "VM id." },
    { name: "name", type: "string", optional: true, computed: true, description: "VM name." },
    computed("arch", "string", "Guest architecture."),
    computed("machine", "string", "QEMU machine type."),
    computed("cpu_cores", "number", "CPU cores."),
    computed("memory_mb", "number", "Memory in MiB."),
    computed("labels", ["map", "string"], "Labels."),
    computed("running", "bool", "Whether QEMU is running."),
    computed("state", "string", "RUNNING, STOPPED, CRASHED, ..."),
    computed("accelerator", "string", "hvf, kvm or tcg."),
    computed("serial_log", "string", "Path of the serial console log."),
    computed("created_at", "string", "RFC 3339 time."),
    computed("port_forwards", ["list", PORT as unknown as [string, string]], "Forwarded ports."),
  ],
};

export async function readVmData(client: InfrasimClient, config: Obj): Promise<Obj> {
  const ref = (config.id ?? config.name) as string | null;
  if (!ref) throw new Error("set name or id");
  const o = objectFromVm(await client.getVm(ref), null);
  return {
    id: o.id,
    name: o.name,
    arch: o.arch,
    machine: o.machine,
    cpu_cores: o.cpu_cores,
    memory_mb: o.memory_mb,
    labels: o.labels ?? {},
    running: o.running,
    state: o.state,
    accelerator: o.accelerator,
    serial_log: o.serial_log,
    created_at: o.created_at,
    port_forwards: o.port_forward,
  };
}

export const DAEMON_DATA_SCHEMA: BlockDef = {
  description: "The infrasimd the provider talks to.",
  attributes: [
    computed("version", "string", "infrasimd version."),
    computed("accelerators", ["map", "string"], "Default accelerator per guest arch."),
    computed("qemu_versions", ["map", "string"], "QEMU version per guest arch."),
    computed("vm_count", "number", "Number of VMs."),
  ],
};

export async function readDaemonData(client: InfrasimClient): Promise<Obj> {
  const st = await client.daemonStatus();
  return {
    version: st.version,
    accelerators: st.accelerators,
    qemu_versions: Object.fromEntries(st.qemu.map((q) => [q.arch, q.version])),
    vm_count: st.vm_counts.total ?? 0,
  };
}
