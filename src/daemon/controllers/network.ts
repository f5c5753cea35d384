// The network kind: a private Ethernet segment, carried by one supervised vde_switch that
// runs as long as the network exists. The record is written before the switch starts,
// so a daemon killed in between finds a network without a switch and starts one; a
// switch that dies is started again, and the VMs' links are plugged back into it.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { failedPrecondition, fieldError, invalid, quote, Status } from "../../api/errors.ts";
import { normalizeNetworkSpec } from "../../api/validate/network.ts";
import { netmask, parseCidr } from "../../api/ipv4.ts";
import { switchArgs, type SwitchPaths } from "../../network/vde.ts";
import { vdeTools } from "../../network/tools.ts";
import type { RefStore } from "../../store/refs.ts";
import type { ProcessRecord } from "../../store/processes.ts";
import type { NetworkStore, StoredNetwork } from "../../store/network_store.ts";
import type { Claims } from "../claims.ts";
import { type NameOf, NETWORK, type NetworkObserver } from "../contracts.ts";
import type { DataLayout } from "../layout.ts";
import type { KeyedMutex } from "../locks.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import { marker } from "../../process/os.ts";
import { ProcessWatch } from "../../process/watch.ts";
import { log } from "../log.ts";
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

const SWITCH = "switch";
const owner = (id: string) => ({ kind: NETWORK, id });

/** UNAVAILABLE on the field unless the network's switch runs. */
export function assertNetworkActive(supervisor: Supervisor, n: StoredNetwork, field: string): void {
  if (supervisor.alive(supervisor.record(owner(n.meta.id), SWITCH))) return;
  throw fieldError(
    Status.UNAVAILABLE,
    field,
    `the switch of network ${quote(n.meta.name)} is not running${
      n.status.message ? ` (${n.status.message})` : ""
    }; try again shortly`,
  );
}

export class NetworkController extends KindReads<T.PrivateNetworkSpec, T.PrivateNetworkStatus> {
  #watches = new Map<string, ProcessWatch>();

  constructor(
    override readonly store: NetworkStore,
    private readonly refs: RefStore,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    private readonly supervisor: Supervisor,
    private readonly layout: DataLayout,
    private readonly nameOf: NameOf,
    /** Whoever carries VMs' links into networks: told of new defaults and new switches. */
    private readonly observer: NetworkObserver,
    /**
     * Filled by init() with the networks whose switch had to be started anew, for the
     * adoption of VM links that follows (they point at the dead switch).
     */
    private readonly restartedAtInit: Set<string>,
  ) {
    super(store, NETWORK);
  }

  dir(id: string): string {
    return this.layout.netDir(id);
  }

  switchPaths(id: string): SwitchPaths {
    return this.layout.switchPaths(id);
  }

  #locked<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(lockKey(NETWORK, id), fn);
  }

  async create(req: T.CreateNetworkRequest): Promise<StoredNetwork> {
    const { name, labels, annotations, spec } = checkCreate(
      req.meta,
      () => normalizeNetworkSpec(req.spec),
    );
    vdeTools();
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
        await this.#startSwitch(id);
      } catch (e) {
        // Nothing half-made: the switch is reaped by #startSwitch, the record goes too.
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
      if (!sameJson(spec.link_qos, cur.spec.link_qos)) await this.observer.qosChanged(id);
      return this.get(id);
    });
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
      await this.#stopSwitch(id);
      await rm(this.dir(id), { recursive: true, force: true });
      log.info("network deleted", { id, name: cur.meta.name });
      return id;
    });
  }

  /** After a restart: adopts each network's switch or starts it; strays are killed. */
  async init(): Promise<void> {
    await mkdir(this.layout.netsDir(), { recursive: true, mode: 0o700 });
    const nets = this.store.list();
    const recs = nets.map((n) => this.#record(n.meta.id));
    const root = `${this.layout.netsDir()}/`;
    const orphan = (argv: string[]) =>
      /(^|\/)vde_switch$/.test(argv[0] ?? "") &&
      argv.some((a, i) => a === "-p" && argv[i + 1]?.startsWith(root));
    const live = await this.supervisor.resolveAll(recs, orphan);
    // Records of networks deleted by a daemon that died before forgetting them (their
    // switches were orphans above).
    for (const r of this.supervisor.store.list(NETWORK)) {
      if (!this.store.get(r.owner.id)) this.supervisor.forget(r.owner, r.role);
    }
    for (const f of await readdir(this.layout.netsDir())) {
      if (!this.store.get(f)) await rm(join(this.layout.netsDir(), f), { recursive: true });
    }
    await Promise.all(nets.map((n, i) =>
      this.#locked(n.meta.id, async () => {
        const pid = live.get(recs[i]);
        // Networks written by a daemon that computed these on read get them now.
        this.#setStatus(n.meta.id, cidrStatus(n.spec.cidr));
        if (pid) {
          this.supervisor.store.put(recs[i]);
          this.#watch(n.meta.id, pid);
          this.#setStatus(n.meta.id, { state: "ACTIVE", message: "", switch_pid: pid });
          return;
        }
        log.warn("network switch not running; starting it", { id: n.meta.id });
        this.restartedAtInit.add(n.meta.id);
        await this.#startSwitch(n.meta.id).catch((e) =>
          this.#setStatus(n.meta.id, { state: "ERROR", message: (e as Error).message })
        );
      })
    ));
  }

  /** Daemon shutdown: switches keep running for the next daemon. */
  detachAll(): void {
    for (const w of this.#watches.values()) w.detach();
    this.#watches.clear();
  }

  /** The switch record, with the marker and pid file even when none was persisted. */
  #record(id: string): ProcessRecord {
    const p = this.switchPaths(id);
    const rec = this.supervisor.record(owner(id), SWITCH);
    return {
      owner: owner(id),
      role: SWITCH,
      pid: 0,
      startTime: "",
      info: {},
      launchedAt: "",
      ...rec,
      marker: marker("-p", p.pidFile),
      pidFile: p.pidFile,
    };
  }

  async #startSwitch(id: string): Promise<void> {
    const tools = vdeTools();
    const p = this.switchPaths(id);
    await mkdir(this.dir(id), { recursive: true, mode: 0o700 });
    // A switch refuses a socket dir left by a dead one.
    await Promise.all(
      [p.sock, p.mgmt!].map((f) => rm(f, { recursive: true, force: true })),
    );
    const rec = await this.supervisor.launch({
      owner: owner(id),
      role: SWITCH,
      binary: tools.vdeSwitch,
      args: switchArgs(p),
      pidFile: p.pidFile,
      marker: marker("-p", p.pidFile),
    });
    this.#watch(id, rec.pid);
    this.#setStatus(id, { state: "ACTIVE", message: "", switch_pid: rec.pid });
  }

  async #stopSwitch(id: string): Promise<void> {
    this.#watches.get(id)?.detach();
    this.#watches.delete(id);
    const rec = this.supervisor.record(owner(id), SWITCH);
    if (rec) await this.supervisor.reap(rec);
  }

  /** A switch that exits while its network exists is started again. */
  #watch(id: string, pid: number): void {
    this.#watches.get(id)?.detach();
    const w = new ProcessWatch(pid);
    this.#watches.set(id, w);
    w.exited.then(() =>
      this.#locked(id, async () => {
        if (this.#watches.get(id) !== w || !this.store.get(id)) return;
        this.#watches.delete(id);
        log.warn("network switch exited; starting it again", { id, pid });
        this.#setStatus(id, { state: "STARTING", switch_pid: 0 });
        for (let attempt = 1;; attempt++) {
          try {
            await this.#startSwitch(id);
            break;
          } catch (e) {
            const message = (e as Error).message;
            this.#setStatus(id, { state: "ERROR", message, switch_pid: 0 });
            if (attempt >= 5) return log.error("network switch cannot start", { id, message });
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
        await this.observer.switchRestarted(id);
      })
    ).catch((e) => log.error("network switch repair failed", { id, error: String(e) }));
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
    switch_pid: 0,
  };
}
