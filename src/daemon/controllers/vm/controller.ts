// The VM kind: create, update, delete and power, each under the VM's lock, with names
// and ports claimed through the shared claims lock. Running QEMU is VmRunner's part.
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import {
  ApiError,
  failedPrecondition,
  fieldError,
  invalid,
  quote,
  Status,
} from "../../../api/errors.ts";
import { normalizeVmSpec } from "../../../api/validate/vm.ts";
import { checkVmSpecOnHost, runPaths } from "../../../qemu/launch.ts";
import type { HostInfo } from "../../../qemu/host.ts";
import type { NetworkStore } from "../../../store/network_store.ts";
import type { Owner } from "../../../store/processes.ts";
import type { RefStore } from "../../../store/refs.ts";
import type { StoredVm, VmStore } from "../../../store/vm_store.ts";
import type { VolumeStore } from "../../../store/volume_store.ts";
import type { DaemonConfig } from "../../config.ts";
import type { Claims } from "../../claims.ts";
import { type Projections, type Readiness, VM, type VmSnapshots } from "../../contracts.ts";
import type { ChangeFeed } from "../../../store/feed.ts";
import type { DataLayout } from "../../layout.ts";
import type { KeyedMutex } from "../../locks.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import { log } from "../../log.ts";
import {
  assertUnused,
  checkCreate,
  KindReads,
  lockKey,
  metaMaps,
  newMeta,
  nextMeta,
  sameJson,
} from "../common.ts";
import { ACTIVE, QEMU, type VmRunner } from "./runner.ts";
import { claimVolumes } from "./volumes.ts";
import { waitReady } from "./wait.ts";
import { claimInterfaces } from "./interfaces.ts";
import { isLegacyLinkRole, type VmLinks } from "./links.ts";
import { emptyStatus, keepAutoPorts } from "./records.ts";

export class VmController extends KindReads<T.VmSpec, T.VmStatus> {
  /** Adoption after a restart; a VM created meanwhile would look like a stray to it. */
  #adopted: Promise<void> = Promise.resolve();

  constructor(
    override readonly store: VmStore,
    private readonly refs: RefStore,
    private readonly supervisor: Supervisor,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    readonly config: DaemonConfig,
    private readonly host: HostInfo,
    private readonly layout: DataLayout,
    readonly runner: VmRunner,
    private readonly links: VmLinks,
    private readonly volumes: VolumeStore,
    private readonly networks: NetworkStore,
    private readonly projections: Projections,
    private readonly readiness: Readiness,
    /** Waits wake on the VM's own changes instead of polling its status. */
    private readonly feed: ChangeFeed,
    private readonly snapshots: VmSnapshots,
  ) {
    super(store, VM);
  }

  /** Waits until a running VM is ready; holds no lock, so the VM can be stopped meanwhile. */
  wait(req: T.WaitVmRequest, signal: AbortSignal): Promise<StoredVm> {
    const vm = this.find(req.ref);
    const id = vm.meta.id;
    return waitReady(vm, req, {
      current: () => this.get(id),
      running: () => !!this.runner.runtime(id),
      changed: (ms) =>
        new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            off();
            signal.removeEventListener("abort", done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          const off = this.feed.subscribe((c) => c.object.meta.id === id && done());
          signal.addEventListener("abort", done);
        }),
      signal,
    });
  }

  vmDir(id: string): string {
    return this.layout.vmDir(id);
  }

  #locked<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(lockKey(VM, id), fn);
  }

  /**
   * After a VM's references changed: its links' stored status, and the projected status
   * of every volume and network it held before or holds now.
   */
  #refreshDependents(id: string, before: Owner[]): void {
    this.links.refresh(id);
    this.projections.refresh([...before, ...this.projections.targetsOf(id)]);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = { total: 0 };
    for (const vm of this.store.list()) {
      counts[vm.status.state] = (counts[vm.status.state] ?? 0) + 1;
      counts.total++;
    }
    return counts;
  }

  async create(req: T.CreateVmRequest): Promise<StoredVm> {
    const { name, labels, annotations, spec } = checkCreate(
      req.meta,
      () => normalizeVmSpec(req.spec),
    );
    await checkVmSpecOnHost(spec, this.host, this.config.data_dir);
    await this.#adopted;
    const id = randomUUID();
    await this.claims.run(async () => {
      this.claims.assertNameFree(this.store, VM, name);
      const vrefs = claimVolumes(id, spec, this.volumes, this.refs, this.store);
      const nics = claimInterfaces(id, spec, undefined, this.networks, this.refs, this.store);
      spec.network_interfaces = nics.interfaces;
      const ports = await this.claims.allocatePorts(spec.network!.port_forwards, []);
      this.store.insertWithPorts({
        meta: newMeta(id, name, { labels, annotations }),
        spec,
        status: emptyStatus(runPaths(this.vmDir(id)).serialLog),
      }, ports);
      this.refs.set({ kind: VM, id }, [...vrefs, ...nics.refs]);
      this.#refreshDependents(id, []);
    });
    log.info("vm created", { id, name });
    if (spec.power_state !== "POWER_ON") return this.get(id);
    return await this.#locked(id, async () => {
      try {
        await this.runner.start(id);
      } catch (e) {
        // Created, not started: the status carries the error (the CLI reports it).
        log.warn("vm failed to start after create", { id, error: (e as Error).message });
      }
      return this.get(id);
    });
  }

  update(req: T.UpdateVmRequest): Promise<StoredVm> {
    const id = this.find(req.ref).meta.id;
    return this.#locked(id, async () => {
      const cur = this.find(id);
      if (req.expected_generation && req.expected_generation !== cur.meta.generation) {
        throw new ApiError(
          Status.ABORTED,
          `expected_generation: VM is at generation ${cur.meta.generation}, not ${req.expected_generation}`,
        );
      }
      if (req.meta?.name && req.meta.name !== cur.meta.name) {
        throw invalid("meta.name", "cannot be changed; create a new VM instead");
      }
      const { labels, annotations } = metaMaps(req.meta, cur.meta);
      const spec = keepAutoPorts(normalizeVmSpec(req.spec), cur.spec, this.store.ports(id));
      // An unspecified power state keeps the current one.
      if (!req.spec?.power_state || req.spec.power_state === "POWER_STATE_UNSPECIFIED") {
        spec.power_state = cur.spec.power_state;
      }
      if (spec.arch !== cur.spec.arch) {
        throw invalid("spec.arch", "cannot be changed; create a new VM instead");
      }
      await checkVmSpecOnHost(spec, this.host, this.config.data_dir);
      await this.claims.run(async () => {
        const before = this.projections.targetsOf(id);
        const vrefs = claimVolumes(id, spec, this.volumes, this.refs, this.store);
        const nics = claimInterfaces(id, spec, cur.spec, this.networks, this.refs, this.store);
        spec.network_interfaces = nics.interfaces;
        const ports = await this.claims.allocatePorts(
          spec.network!.port_forwards,
          this.store.ports(id),
        );
        const changed = !sameJson(spec, cur.spec) || !sameJson(labels, cur.meta.labels) ||
          !sameJson(annotations, cur.meta.annotations);
        this.store.updateWithPorts({
          ...cur,
          meta: nextMeta(cur.meta, changed, { labels, annotations }),
          spec,
        }, ports);
        this.refs.set({ kind: VM, id }, [...vrefs, ...nics.refs]);
        this.#refreshDependents(id, before);
      });
      // cloud-init input reaches the guest at its next boot, wait_for is the daemon's
      // own, and a link's impairment changes live: none of them restarts a running VM.
      const hw = (s: T.VmSpec) => ({
        ...s,
        power_state: "",
        cloud_init: null,
        wait_for: null,
        // A network named by its id or by its name is the same network.
        network_interfaces: s.network_interfaces.map((n) => ({
          ...n,
          network: this.networks.find(n.network)?.meta.id ?? n.network,
          link_qos: null,
          link_state: "",
          receive_link_qos: null,
        })),
      });
      const hwChanged = !sameJson(hw(spec), hw(cur.spec));
      if (this.runner.runtime(id)) {
        if (spec.power_state === "POWER_OFF") await this.runner.stop(id, false, 0);
        else if (hwChanged) {
          // QEMU cannot change CPUs, memory, disks or forwards of a running VM: restart it.
          await this.runner.stop(id, false, 0, "restarted");
          await this.runner.start(id);
        } else {
          if (!sameJson(spec.network_interfaces, cur.spec.network_interfaces)) {
            await this.links.apply(id);
          }
          // A new readiness condition is probed from now on.
          if (!sameJson(spec.wait_for, cur.spec.wait_for)) this.readiness.start(id);
        }
      } else if (spec.power_state === "POWER_ON") {
        await this.runner.start(id);
      }
      return this.get(id);
    });
  }

  delete(ref: string, force: boolean, withSnapshots = false): Promise<string> {
    const vm = this.find(ref);
    const id = vm.meta.id;
    return this.#locked(id, async () => {
      const cur = this.find(id);
      if (!force && (this.runner.runtime(id) || ACTIVE.includes(cur.status.state))) {
        throw failedPrecondition(
          `vm ${
            quote(cur.meta.name)
          } is running; stop it first (infrasim vm stop ${cur.meta.name}) ` +
            `or delete it with --force`,
        );
      }
      this.snapshots.assertDeletable(id, withSnapshots);
      assertUnused(this.refs, VM, cur.meta, (_k, i) => this.store.get(i)?.meta.name ?? i);
      await this.runner.stop(id, true, 0, "deleted");
      const rec = this.supervisor.record({ kind: VM, id }, QEMU);
      if (rec) await this.supervisor.reap(rec);
      // QEMU is gone: the snapshots leave its files through qemu-img.
      await this.snapshots.deleteAllOf(id);
      const before = this.projections.targetsOf(id);
      this.refs.clear({ kind: VM, id });
      this.store.delete(id);
      this.projections.refresh(before);
      await rm(this.vmDir(id), { recursive: true, force: true });
      log.info("vm deleted", { id, name: cur.meta.name });
      return id;
    });
  }

  /** Starts a VM: booting, or resuming from a snapshot with memory (`fromSnapshot`). */
  start(ref: string, fromSnapshot = ""): Promise<StoredVm> {
    const id = this.find(ref).meta.id;
    return this.#locked(id, async () => {
      if (!fromSnapshot) {
        this.#setPowerState(id, "POWER_ON");
        await this.runner.start(id);
        return this.get(id);
      }
      if (this.runner.runtime(id)) {
        throw fieldError(
          Status.FAILED_PRECONDITION,
          "from_snapshot",
          `vm ${quote(this.find(id).meta.name)} is running; restore the snapshot instead ` +
            `(infrasim snapshot restore ${fromSnapshot.slice(0, 63)})`,
        );
      }
      const from = this.snapshots.startFrom(id, fromSnapshot, "from_snapshot");
      try {
        this.#setPowerState(id, "POWER_ON");
        await this.runner.start(id, from);
      } finally {
        await from.done();
      }
      return this.get(id);
    });
  }

  stop(ref: string, force: boolean, timeoutSeconds: number): Promise<StoredVm> {
    const id = this.find(ref).meta.id;
    return this.#locked(id, async () => {
      this.#setPowerState(id, "POWER_OFF");
      await this.runner.stop(id, force, timeoutSeconds);
      return this.get(id);
    });
  }

  restart(ref: string, force: boolean, timeoutSeconds: number): Promise<StoredVm> {
    const id = this.find(ref).meta.id;
    return this.#locked(id, async () => {
      this.#setPowerState(id, "POWER_ON");
      await this.runner.stop(id, force, timeoutSeconds, "restarted");
      await this.runner.start(id);
      return this.get(id);
    });
  }

  /** Imperative start/stop also move the desired state, so spec and reality agree. */
  #setPowerState(id: string, ps: T.PowerState): void {
    const vm = this.find(id);
    if (vm.spec.power_state === ps) return;
    this.store.update({
      ...vm,
      spec: { ...vm.spec, power_state: ps },
      meta: nextMeta(vm.meta, true),
    });
  }

  /**
   * Re-adopts every VM's QEMU after a restart. Each VM's lock is taken at once and
   * held through its adoption, so calls served meanwhile wait instead of finding no
   * runtime; VMs are adopted in parallel, so one frozen QEMU delays only itself.
   */
  adoptAll(): Promise<void> {
    const vms = this.store.list();
    const recs = vms.map((vm) =>
      this.supervisor.record({ kind: VM, id: vm.meta.id }, QEMU) ?? {
        owner: { kind: VM, id: vm.meta.id },
        role: QEMU,
        pid: 0,
        startTime: "",
        marker: "",
        pidFile: "",
        info: {},
        launchedAt: "",
      }
    );
    // Every VM's QEMU is looked for by its run dir, also when no launch was recorded.
    for (const [i, r] of recs.entries()) {
      r.marker = this.runner.marker(vms[i].meta.id);
      r.pidFile = runPaths(this.vmDir(vms[i].meta.id)).pidFile;
      if (r.pid) this.supervisor.store.put(r); // records migrated from schema 1 had neither
    }
    const root = `${this.layout.vmsDir()}/`;
    // A QEMU whose pid file is in our vms dir but that is no known VM's is a stray, and
    // so is a vde2 process of the previous data path that no record names.
    const pidIn = (argv: string[], flag: string) =>
      argv.some((a, i) => a === flag && argv[i + 1]?.startsWith(root));
    const orphan = (argv: string[]) =>
      (pidIn(argv, "-pidfile") && argv.includes("-uuid")) ||
      (/(^|\/)vde_switch$/.test(argv[0] ?? "") && pidIn(argv, "-p")) ||
      (/(^|\/)wirefilter$/.test(argv[0] ?? "") && pidIn(argv, "--pidfile"));
    // The previous data path's link processes (vde2) go: their network switches are gone.
    const legacy = this.supervisor.store.list(VM).filter((r) => isLegacyLinkRole(r.role));
    const resolved = this.supervisor.resolveAll(recs, orphan);
    const cleared = resolved.then(() => Promise.all(legacy.map((r) => this.supervisor.reap(r))));
    return this.#adopted = Promise.all(vms.map((vm, i) =>
      this.#locked(vm.meta.id, async () => {
        await cleared;
        const pid = (await resolved).get(recs[i]);
        const known = this.supervisor.record({ kind: VM, id: vm.meta.id }, QEMU);
        await this.runner.adopt(this.find(vm.meta.id), pid, known ?? (pid ? recs[i] : undefined));
      }).catch((e) => log.error("adoption failed", { id: vm.meta.id, error: String(e) }))
    )).then(() => {});
  }

  /**
   * Stores every VM's links and its volumes' and networks' projected status as they are
   * now: after adoption, and for a data dir written by a daemon that computed them on read.
   */
  refreshAll(): void {
    for (const vm of this.store.list()) {
      this.links.refresh(vm.meta.id);
      this.projections.refresh(this.projections.targetsOf(vm.meta.id));
    }
  }

  detachAll(): void {
    this.runner.detachAll();
  }
}
