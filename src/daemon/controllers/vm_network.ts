// Where the network kind and the VMs' links meet: a network's new default impairment
// reaches its running links, and a link engine that stops or starts again shows in the
// state of every link on it (it hears that from the change feed, as a watcher would).
// It depends on both sides; neither depends on it.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { ChangeFeed } from "../../store/feed.ts";
import type { RefStore } from "../../store/refs.ts";
import { NETWORK, type NetworkObserver, VM } from "../contracts.ts";
import { log } from "../log.ts";
import type { VmLinks } from "./vm/links.ts";

export class VmNetworkLinks implements NetworkObserver {
  #enginePids = new Map<string, number>();

  constructor(
    private readonly links: VmLinks,
    private readonly refs: RefStore,
    feed: ChangeFeed,
  ) {
    feed.subscribe((c) => {
      if (c.kind !== NETWORK) return;
      const id = c.object.meta.id;
      const pid = c.type === "DELETED" ? 0 : (c.object.status as T.PrivateNetworkStatus).engine_pid;
      if (this.#enginePids.get(id) === pid) return;
      this.#enginePids.set(id, pid);
      // After the commit that published it, not inside it.
      queueMicrotask(() => this.links.refreshNetwork(id));
    });
  }

  #vmIds(networkId: string): string[] {
    const users = this.refs.usersOf({ kind: NETWORK, id: networkId });
    return [...new Set(users.filter((u) => u.kind === VM).map((u) => u.id))];
  }

  async qosChanged(networkId: string): Promise<void> {
    const results = await Promise.allSettled(
      this.#vmIds(networkId).map((id) => this.links.apply(id)),
    );
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    for (const f of failed) {
      log.warn("network change failed on a link", { error: String(f.reason) });
    }
    if (failed.length) throw failed[0].reason;
  }
}
