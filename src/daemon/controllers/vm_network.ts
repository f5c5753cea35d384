// Where the network kind and the VMs' links meet: a network's new default impairment
// reaches its running links, and a switch started anew gets its links plugged back in.
// It depends on both sides; neither depends on it.
import type { RefStore } from "../../store/refs.ts";
import { NETWORK, type NetworkObserver, VM } from "../contracts.ts";
import { log } from "../log.ts";
import type { VmLinks } from "./vm/links.ts";

export class VmNetworkLinks implements NetworkObserver {
  constructor(private readonly links: VmLinks, private readonly refs: RefStore) {}

  #vmIds(networkId: string): string[] {
    const users = this.refs.usersOf({ kind: NETWORK, id: networkId });
    return [...new Set(users.filter((u) => u.kind === VM).map((u) => u.id))];
  }

  async #each(networkId: string, what: string, fn: (vmId: string) => Promise<void>) {
    const results = await Promise.allSettled(this.#vmIds(networkId).map(fn));
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    for (const f of failed) {
      log.warn(`network ${what} failed on a link`, { error: String(f.reason) });
    }
    if (failed.length) throw failed[0].reason;
  }

  qosChanged(networkId: string): Promise<void> {
    return this.#each(networkId, "change", (id) => this.links.apply(id));
  }

  switchRestarted(networkId: string): Promise<void> {
    return this.#each(networkId, "replug", (id) => this.links.replug(id, networkId));
  }
}
