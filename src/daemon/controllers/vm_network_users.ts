// What a network learns of the VMs on it, through the references they hold: its
// attachments, and which running links to change when its defaults or its switch do.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { RefStore } from "../../store/refs.ts";
import type { VmStore } from "../../store/vm_store.ts";
import type { StoredNetwork } from "../../store/network_store.ts";
import { log } from "../log.ts";
import { NETWORK, type NetworkUsers } from "./network.ts";
import { interfaceIndex } from "./vm_interfaces.ts";
import type { VmLinks } from "./vm_links.ts";

export function networkUsers(links: VmLinks, vms: VmStore, refs: RefStore): NetworkUsers {
  const vmIds = (networkId: string) => [
    ...new Set(
      refs.usersOf({ kind: NETWORK, id: networkId }).filter((u) => u.kind === "VM").map((u) =>
        u.id
      ),
    ),
  ];
  const each = async (networkId: string, what: string, fn: (vmId: string) => Promise<void>) => {
    const results = await Promise.allSettled(vmIds(networkId).map(fn));
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    for (const f of failed) {
      log.warn(`network ${what} failed on a link`, { error: String(f.reason) });
    }
    if (failed.length) throw failed[0].reason;
  };
  return {
    attachments(n: StoredNetwork): T.NetworkAttachment[] {
      const out: T.NetworkAttachment[] = [];
      for (const u of refs.usersOf({ kind: NETWORK, id: n.meta.id })) {
        const vm = u.kind === "VM" ? vms.get(u.id) : undefined;
        const i = interfaceIndex(u.field);
        if (!vm || i === undefined) continue;
        const plan = links.plan(vm)[i];
        out.push({
          vm_id: vm.meta.id,
          vm_name: vm.meta.name,
          interface: i,
          ip: plan.ip,
          mac: plan.mac,
          link_qos: { ...plan.qos },
          state: links.state(vm.meta.id, i).state,
        });
      }
      return out;
    },
    qosChanged: (networkId) => each(networkId, "change", (id) => links.apply(id)),
    switchRestarted: (networkId) => each(networkId, "replug", (id) => links.replug(id, networkId)),
  };
}
