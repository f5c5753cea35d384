// Status that other objects decide, stored so that watchers see it change: who holds a
// volume (from the references VMs hold) and a network's attachments (from the stored
// links of its VMs). Recomputed by whoever changes those, never on read.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { NetworkStore } from "../../store/network_store.ts";
import type { Owner } from "../../store/processes.ts";
import type { RefStore } from "../../store/refs.ts";
import type { VmStore } from "../../store/vm_store.ts";
import type { VolumeStore } from "../../store/volume_store.ts";
import { NETWORK, type Projections, VM, VOLUME } from "../contracts.ts";

/** The interface index of a refs field, e.g. spec.network_interfaces[2].network -> 2. */
export function interfaceIndex(refField: string): number | undefined {
  const m = refField.match(/^spec\.network_interfaces\[(\d+)\]\.network$/);
  return m ? Number(m[1]) : undefined;
}

export class StatusProjections implements Projections {
  constructor(
    private readonly refs: RefStore,
    private readonly vms: VmStore,
    private readonly volumes: VolumeStore,
    private readonly networks: NetworkStore,
  ) {}

  targetsOf(vmId: string): Owner[] {
    return this.refs.targetsOf({ kind: VM, id: vmId }).filter((t) =>
      t.kind === VOLUME || t.kind === NETWORK
    );
  }

  refresh(targets: Owner[]): void {
    const seen = new Set<string>();
    for (const t of targets) {
      const key = `${t.kind}/${t.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (t.kind === VOLUME) this.#volume(t.id);
      else if (t.kind === NETWORK) this.#network(t.id);
    }
  }

  #volume(id: string): void {
    const vm = this.refs.usersOf({ kind: VOLUME, id }).find((u) => u.kind === VM);
    this.volumes.patchStatus(id, {
      attached_to: vm?.id ?? "",
      attached_to_name: vm ? this.vms.get(vm.id)?.meta.name ?? vm.id : "",
    });
  }

  #network(id: string): void {
    const attachments: T.NetworkAttachment[] = [];
    for (const u of this.refs.usersOf({ kind: NETWORK, id })) {
      const i = interfaceIndex(u.field);
      const vm = u.kind === VM && i !== undefined ? this.vms.get(u.id) : undefined;
      const link = vm?.status.links?.[i!];
      if (!vm || !link || link.network_id !== id) continue;
      attachments.push({
        vm_id: vm.meta.id,
        vm_name: vm.meta.name,
        interface: i!,
        ip: link.ip,
        mac: link.mac,
        link_qos: { ...link.link_qos },
        state: link.state,
      });
    }
    this.networks.patchStatus(id, { attachments });
  }
}
