// The network kind: a private Ethernet segment, carried by one supervised link engine
// (network_engine.ts) that runs as long as the network exists. The record is written
// before the engine starts, so a daemon killed in between finds a network without an
// engine and starts one.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../api/gen/infrasim.v1.ts";
import {
  ApiError,
  failedPrecondition,
  fieldError,
  invalid,
  quote,
  Status,
} from "../../api/errors.ts";
import { normalizeNetworkSpec } from "../../api/validate/network.ts";
import { netmask, parseCidr } from "../../api/ipv4.ts";
import type { RefStore } from "../../store/refs.ts";
import type { NetworkStore, StoredNetwork } from "../../store/network_store.ts";
import type { Claims } from "../claims.ts";
import { type NameOf, NETWORK, type NetworkObserver, VM } from "../contracts.ts";
import type { DataLayout } from "../layout.ts";
import type { KeyedMutex } from "../locks.ts";
import { log } from "../log.ts";
import type { LinkEngines } from "./network_engine.ts";
import {
  assertUnused,
  checkCreate,
  KindReads,
  lockKey,
  metaMaps,
  newMeta,
  nextMeta,
  sameJson,
} from "./common.ts";

const owner = (id: string) => ({ kind: NETWORK, id });

export class NetworkController extends KindReads<T.PrivateNetworkSpec, T.PrivateNetworkStatus> {
  constructor(
    override readonly store: NetworkStore,
    private readonly refs: RefStore,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    private readonly engines: LinkEngines,
    private readonly layout: DataLayout,
    private readonly nameOf: NameOf,
    /** Whoever carries VMs' links into networks: told of new defaults. */
    private readonly observer: NetworkObserver,
  ) {
    super(store, NETWORK);
  }

  dir(id: string): string {
    return this.layout.netDir(id);
  }

  #locked<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(lockKey(NETWORK, id), fn);
  }

  async create(req: T.CreateNetworkRequest): Promise<StoredNetwork> {
    const { name, labels, annotations, spec } = checkCreate(
      req.meta,
      () => normalizeNetworkSpec(req.spec),
    );
    const id = randomUUID();
    await this.claims.run(() => {
      this.claims.assertNameFree(this.store, NETWORK, name);
      this.store.insert({
        meta: newMeta(id, name, { labels, annotations }),
        spec,
        status: { ...emptyStatus(), ...cidrStatus(spec.cidr) },
      });
    });
    return await this.#locked(id, async () => {
      try {
        await this.engines.start(id);
      } catch (e) {
        // Nothing half-made: the engine was reaped by the supervisor, the record goes too.
        this.store.delete(id);
        await rm(this.dir(id), { recursive: true, force: true });
        throw failedPrecondition(`network ${quote(name)}: ${(e as Error).message}`);
      }
      log.info("network created", { id, name, cidr: spec.cidr });
      return this.get(id);
    });
  }

  update(req: T.UpdateNetworkRequest): Promise<StoredNetwork> {
    const id = this.find(req.ref).meta.id;
    return this.#locked(id, async () => {
      const cur = this.find(id);
      if (req.meta?.name && req.meta.name !== cur.meta.name) {
        throw invalid("meta.name", "cannot be changed; create a new network instead");
      }
      const { labels, annotations } = metaMaps(req.meta, cur.meta);
      const spec = req.spec ? normalizeNetworkSpec(req.spec) : cur.spec;
      for (const f of ["cidr", "mtu"] as const) {
        if (spec[f] === cur.spec[f]) continue;
        const users = this.refs.usersOf(owner(id));
        if (users.length === 0) continue;
        const names = [...new Set(users.map((u) => quote(this.nameOf(u.kind, u.id))))];
        throw fieldError(
          Status.FAILED_PRECONDITION,
          `spec.${f}`,
          `cannot change while VMs are attached to network ${quote(cur.meta.name)} (${
            names.join(", ")
          }); detach them first`,
        );
      }
      const changed = !sameJson(spec, cur.spec) || !sameJson(labels, cur.meta.labels) ||
        !sameJson(annotations, cur.meta.annotations);
      this.store.update({
        ...cur,
        meta: nextMeta(cur.meta, changed, { labels, annotations }),
        spec,
        status: { ...cur.status, ...cidrStatus(spec.cidr) },
      }, { status: true });
      if (!sameJson(spec.link_qos, cur.spec.link_qos) || spec.seed !== cur.spec.seed) {
        await this.observer.qosChanged(id);
      }
      return this.get(id);
    });
  }

  /** A network's default impairment set back (a checkpoint's); nothing when it is the same. */
  async setLinkQos(id: string, qos: T.LinkQos | null): Promise<void> {
    const n = this.store.get(id);
    if (!n || sameJson(n.spec.link_qos ?? null, qos)) return;
    await this.update({ ref: id, meta: null, spec: { ...n.spec, link_qos: qos } });
  }

  delete(ref: string): Promise<string> {
    const id = this.find(ref).meta.id;
    return this.#locked(id, async () => {
      const cur = this.find(id);
      // Checked and removed under the claims lock: no VM can claim it in between.
      await this.claims.run(() => {
        assertUnused(this.refs, NETWORK, cur.meta, this.nameOf);
        this.store.delete(id);
      });
      await this.engines.stop(id);
      await rm(this.dir(id), { recursive: true, force: true });
      log.info("network deleted", { id, name: cur.meta.name });
      return id;
    });
  }

  /** The engine's counters, per link and direction; UNAVAILABLE while it is not running. */
  async counters(ref: string): Promise<T.NetworkCounters> {
    const n = this.find(ref);
    const stats = await this.engines.stats(n.meta.id);
    if (!stats) {
      throw new ApiError(
        Status.UNAVAILABLE,
        `the link engine of network ${quote(n.meta.name)} is not answering; try again shortly`,
      );
    }
    const links = Object.entries(stats.links).map(([key, l]) => {
      const [vmId, index] = key.split("/");
      const dir = (
        { queueDepth, dropLoss, dropQueue, dropDown, dropMtu, ...c }: typeof l.sent,
      ) => ({
        ...c,
        dropped_loss: dropLoss,
        dropped_queue: dropQueue,
        dropped_down: dropDown,
        dropped_mtu: dropMtu,
        queue_depth: queueDepth,
      });
      return {
        vm_id: vmId,
        vm_name: this.nameOf(VM, vmId),
        interface: Number(index),
        connected: l.connected,
        sent: dir(l.sent),
        received: dir(l.received),
      };
    }).sort((a, b) => a.vm_name.localeCompare(b.vm_name) || a.interface - b.interface);
    return {
      network_id: n.meta.id,
      links,
      timer_lateness_p50_us: stats.lateness.p50,
      timer_lateness_p99_us: stats.lateness.p99,
      engine_rss_bytes: stats.rssBytes,
      engine_pid: stats.pid,
      capture_dropped: stats.captureDropped,
    };
  }

  /** After a restart: adopts each network's engine or starts it; strays are killed. */
  async init(): Promise<void> {
    await mkdir(this.layout.netsDir(), { recursive: true, mode: 0o700 });
    const nets = this.store.list();
    // Networks written by a daemon that computed these on read get them now.
    for (const n of nets) this.#setStatus(n.meta.id, cidrStatus(n.spec.cidr));
    await this.engines.init(nets);
    for (const f of await readdir(this.layout.netsDir())) {
      if (!this.store.get(f)) await rm(join(this.layout.netsDir(), f), { recursive: true });
    }
  }

  /** Daemon shutdown: engines keep running for the next daemon. */
  detachAll(): void {
    this.engines.detachAll();
  }

  #setStatus(id: string, patch: Partial<T.PrivateNetworkStatus>): void {
    this.store.patchStatus(id, patch);
  }
}

/** What a network's status says of its cidr. */
function cidrStatus(cidr: string): Partial<T.PrivateNetworkStatus> {
  const c = parseCidr(cidr) as { prefix: number };
  return { prefix_length: c.prefix, netmask: netmask(c.prefix) };
}

function emptyStatus(): T.PrivateNetworkStatus {
  return {
    state: "STARTING",
    message: "",
    prefix_length: 0,
    netmask: "",
    attachments: [],
    engine_pid: 0,
  };
}
