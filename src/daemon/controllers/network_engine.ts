// Each network's link engine: one supervised process (a mode of this executable) that
// switches the network's frames and impairs each link. Its identity is persisted before
// it starts; after a daemon restart it is adopted, and one that dies is started again
// within a second. It reads its links from <net dir>/engine.json when it starts, so a
// restart needs nothing from the VMs: QEMU keeps listening and the engine reconnects.
import { mkdir, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { fieldError, quote, Status } from "../../api/errors.ts";
import {
  ENGINE_FILES,
  type EngineConfig,
  type EngineLinkConfig,
  type EngineStats,
} from "../../network/engine_protocol.ts";
import { engineRequest, engineStats, writeEngineConfig } from "../../network/engine_client.ts";
import type { ProcessRecord } from "../../store/processes.ts";
import type { NetworkStore, StoredNetwork } from "../../store/network_store.ts";
import { type LinkCarrier, NETWORK } from "../contracts.ts";
import type { DataLayout } from "../layout.ts";
import type { KeyedMutex } from "../locks.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import { marker } from "../../process/os.ts";
import { selfCommand } from "../../process/self.ts";
import { ProcessWatch } from "../../process/watch.ts";
import { log } from "../log.ts";

export const ENGINE = "engine";
const owner = (id: string) => ({ kind: NETWORK, id });
const RESTART_ATTEMPTS = 5;

export class LinkEngines implements LinkCarrier {
  #watches = new Map<string, ProcessWatch>();
  #liveness = new Map<string, Socket>();
  /** What each engine carries, as last set; absent after a daemon restart until carry(). */
  #links = new Map<string, EngineLinkConfig[]>();

  constructor(
    private readonly store: NetworkStore,
    private readonly supervisor: Supervisor,
    private readonly locks: KeyedMutex,
    private readonly layout: DataLayout,
  ) {}

  #serial<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(`ENGINE/${id}`, fn);
  }

  dir(id: string): string {
    return this.layout.netDir(id);
  }

  active(id: string): boolean {
    return this.supervisor.alive(this.supervisor.record(owner(id), ENGINE));
  }

  /** UNAVAILABLE on the field unless the network's engine runs. */
  assertActive(n: StoredNetwork, field: string): void {
    if (this.active(n.meta.id)) return;
    throw fieldError(
      Status.UNAVAILABLE,
      field,
      `the link engine of network ${quote(n.meta.name)} is not running${
        n.status.message ? ` (${n.status.message})` : ""
      }; try again shortly`,
    );
  }

  /**
   * The links the engine carries from now on (all of the network's running links). The
   * file comes first: an engine that restarts meanwhile reads it.
   */
  carry(id: string, links: EngineLinkConfig[]): Promise<void> {
    return this.#serial(id, async () => {
      this.#links.set(id, links);
      const n = this.store.get(id);
      if (!n) return;
      const cfg = this.#config(n, links);
      await writeEngineConfig(this.dir(id), cfg);
      if (!this.active(id)) return; // its start reads the file
      try {
        await engineRequest(this.dir(id), { op: "apply", config: cfg });
      } catch (e) {
        // It may be dying (its watch restarts it, and the restart reads the file).
        log.warn("link engine did not take a change", { id, error: String(e) });
      }
    });
  }

  /** The links the engine was last told to carry (none known yet after a restart). */
  carried(id: string): EngineLinkConfig[] {
    return this.#links.get(id) ?? [];
  }

  /**
   * Stops the link clocks of these networks' engines for at most `ms` (a checkpoint, while
   * its VMs are paused); returns the networks held and their release. An engine that does
   * not answer is left running: the VMs are still consistent with each other.
   */
  async hold(ids: string[], ms: number): Promise<{ held: string[]; release(): Promise<void> }> {
    const tried = await Promise.all(
      ids.filter((id) => this.active(id)).map((id) =>
        engineRequest(this.dir(id), { op: "hold", ms }).then(() => id, (e) => {
          log.warn("link engine did not hold its queues", { id, error: String(e) });
          return "";
        })
      ),
    );
    const held = tried.filter(Boolean);
    return {
      held,
      release: async () => {
        await Promise.all(
          held.map((id) =>
            engineRequest(this.dir(id), { op: "release" }).catch((e) =>
              log.warn("link engine did not release its queues", { id, error: String(e) })
            )
          ),
        );
      },
    };
  }

  /** The engine's counters, or undefined when it does not answer. */
  async stats(id: string): Promise<EngineStats | undefined> {
    if (!this.active(id)) return undefined;
    return await engineStats(this.dir(id)).catch(() => undefined);
  }

  start(id: string): Promise<void> {
    return this.#serial(id, () => this.#start(id));
  }

  stop(id: string): Promise<void> {
    return this.#serial(id, async () => {
      this.#unwatch(id);
      this.#links.delete(id);
      const rec = this.supervisor.record(owner(id), ENGINE);
      if (rec) await this.supervisor.reap(rec);
    });
  }

  /**
   * After a daemon restart: adopts each network's engine or starts it, and kills the
   * rest, vde2 processes of the previous data path included (their networks move to the
   * engine here; a VM still plugged into one is told to restart).
   */
  async init(nets: StoredNetwork[]): Promise<void> {
    const recs = nets.map((n) => this.#record(n.meta.id));
    const root = `${this.layout.netsDir()}/`;
    const orphan = (argv: string[]) =>
      (argv.includes("link-engine") &&
        argv.some((a, i) => a === "--dir" && argv[i + 1]?.startsWith(root))) ||
      (/(^|\/)vde_switch$/.test(argv[0] ?? "") &&
        argv.some((a, i) => a === "-p" && argv[i + 1]?.startsWith(root)));
    const live = await this.supervisor.resolveAll(recs, orphan);
    // Records of networks deleted meanwhile, and of the previous data path's switches.
    for (const r of this.supervisor.store.list(NETWORK)) {
      if (!this.store.get(r.owner.id) || r.role !== ENGINE) this.supervisor.forget(r.owner, r.role);
    }
    await Promise.all(nets.map((n, i) =>
      this.#serial(n.meta.id, async () => {
        const id = n.meta.id;
        // vde2's leftovers, from a data dir of the previous release.
        for (const f of ["s", "sw.mgmt", "sw.pid"]) {
          await rm(join(this.dir(id), f), { recursive: true, force: true });
        }
        const pid = live.get(recs[i]);
        if (pid) {
          this.supervisor.store.put(recs[i]);
          this.#watch(id, pid);
          this.#status(id, { state: "ACTIVE", message: "", engine_pid: pid });
          return;
        }
        log.warn("link engine not running; starting it", { id });
        await this.#start(id).catch((e) =>
          this.#status(id, { state: "ERROR", message: (e as Error).message, engine_pid: 0 })
        );
      })
    ));
  }

  detachAll(): void {
    for (const id of [...this.#watches.keys()]) this.#unwatch(id);
  }

  #config(n: StoredNetwork, links: EngineLinkConfig[]): EngineConfig {
    const seed = n.spec.seed ?? undefined;
    return {
      network: n.meta.name,
      mtu: n.spec.mtu,
      ...(seed !== undefined ? { seed } : {}),
      links,
    };
  }

  /** The engine record, with the marker and pid file even when none was persisted. */
  #record(id: string): ProcessRecord {
    const rec = this.supervisor.record(owner(id), ENGINE);
    return {
      owner: owner(id),
      role: ENGINE,
      pid: 0,
      startTime: "",
      info: {},
      launchedAt: "",
      ...rec,
      marker: marker("--dir", this.dir(id)),
      pidFile: join(this.dir(id), ENGINE_FILES.pid),
    };
  }

  async #start(id: string): Promise<void> {
    const dir = this.dir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const n = this.store.get(id);
    const links = this.#links.get(id);
    // Known links are written first; after a daemon restart the file already holds them.
    if (n && links) await writeEngineConfig(dir, this.#config(n, links));
    const self = selfCommand("link-engine", "--dir", dir, "--daemon");
    const rec = await this.supervisor.launch({
      owner: owner(id),
      role: ENGINE,
      binary: self.binary,
      args: self.args,
      pidFile: join(dir, ENGINE_FILES.pid),
      marker: marker("--dir", dir),
    });
    this.#watch(id, rec.pid);
    this.#status(id, { state: "ACTIVE", message: "", engine_pid: rec.pid });
  }

  #unwatch(id: string): void {
    this.#watches.get(id)?.detach();
    this.#watches.delete(id);
    this.#liveness.get(id)?.destroy();
    this.#liveness.delete(id);
  }

  /**
   * An engine that exits while its network exists is started again at once. An idle
   * connection to its control socket closes when it dies, so the watch hears of it
   * then instead of at its next poll.
   */
  #watch(id: string, pid: number): void {
    this.#unwatch(id);
    const w = new ProcessWatch(pid);
    this.#watches.set(id, w);
    const s = connect(join(this.dir(id), ENGINE_FILES.control));
    s.on("error", () => {});
    s.on("close", () => w.hint());
    this.#liveness.set(id, s);
    w.exited.then(() =>
      this.#serial(id, async () => {
        if (this.#watches.get(id) !== w || !this.store.get(id)) return;
        this.#watches.delete(id);
        log.warn("link engine exited; starting it again", { id, pid });
        this.#status(id, { state: "STARTING", engine_pid: 0 });
        for (let attempt = 1;; attempt++) {
          try {
            return await this.#start(id);
          } catch (e) {
            const message = (e as Error).message;
            this.#status(id, { state: "ERROR", message, engine_pid: 0 });
            if (attempt >= RESTART_ATTEMPTS) {
              return log.error("link engine cannot start", { id, message });
            }
            await new Promise((r) => setTimeout(r, 200 * attempt));
          }
        }
      })
    ).catch((e) => log.error("link engine repair failed", { id, error: String(e) }));
  }

  #status(id: string, patch: Partial<T.PrivateNetworkStatus>): void {
    if (this.store.get(id)) this.store.patchStatus(id, patch);
  }
}
