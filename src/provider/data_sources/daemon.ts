// The infrasim_daemon data source: the infrasimd the provider talks to.
import type { InfrasimClient } from "../../api/client.ts";
import type { DataSource, Obj } from "../framework/resource.ts";
import type { BlockDef } from "../framework/schema.ts";
import { computed } from "../framework/data_source.ts";

const DAEMON_DATA_SCHEMA: BlockDef = {
  description: "The infrasimd the provider talks to.",
  attributes: [
    computed("version", "string", "infrasimd version."),
    computed("accelerators", ["map", "string"], "Default accelerator per guest arch."),
    computed("qemu_versions", ["map", "string"], "QEMU version per guest arch."),
    computed("vm_count", "number", "Number of VMs."),
  ],
};

async function read(client: InfrasimClient): Promise<Obj> {
  const st = await client.getDaemonStatus({});
  return {
    version: st.version,
    accelerators: st.accelerators,
    qemu_versions: Object.fromEntries(st.qemu.map((q) => [q.arch, q.version])),
    vm_count: st.vm_counts.total ?? 0,
  };
}

export const daemonDataSource: DataSource = {
  typeName: "infrasim_daemon",
  schema: DAEMON_DATA_SCHEMA,
  read,
};
