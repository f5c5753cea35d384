// The infrasim_vm data source: one VM by name or id.
import type { InfrasimClient } from "../../api/client.ts";
import { diag } from "../framework/diagnostics.ts";
import type { DataSource, Obj } from "../framework/resource.ts";
import type { BlockDef } from "../framework/schema.ts";
import { objectFromVm } from "../resources/vm_convert.ts";
import { computed } from "./common.ts";

const PORT = ["object", { guest_port: "number", host_port: "number", protocol: "string" }] as const;

const VM_DATA_SCHEMA: BlockDef = {
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

async function read(client: InfrasimClient, config: Obj): Promise<Obj> {
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

export const vmDataSource: DataSource = {
  typeName: "infrasim_vm",
  schema: VM_DATA_SCHEMA,
  validate: (c) =>
    c.name === null && c.id === null
      ? [diag("Missing name or id", "set name or id", ["name"])]
      : [],
  read,
};
