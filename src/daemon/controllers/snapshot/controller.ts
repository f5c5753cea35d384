// The snapshot kind: internal qcow2 snapshots of a VM's writable disks and, with its
// memory, of a running VM's RAM and device state (in <vm dir>/state.qcow2). Every
// operation holds the VM's lock, so the VM neither starts nor stops meanwhile. A record
// is written (CREATING) before any file changes, so a daemon killed mid-way leaves a
// record the next start cleans up, never a snapshot listed as ready that is not.
import { createHash, randomUUID } from "node:crypto";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { failedPrecondition, fieldError, quote, Status } from "../../../api/errors.ts";
import { defaultSnapshotName, normalizeSnapshotSpec } from "../../../api/validate/snapshot.ts";
import { matches, parseSelector } from "../../../api/labels.ts";
import type { RefStore } from "../../../store/refs.ts";
import type { SnapshotStore, StoredSnapshot } from "../../../store/snapshot_store.ts";
import type { VmStore } from "../../../store/vm_store.ts";
import type { VolumeStore } from "../../../store/volume_store.ts";
import type { Claims } from "../../claims.ts";
import {
  CHECKPOINT,
  CHECKPOINT_LABEL,
  type RunningVms,
  SNAPSHOT,
  type StartFrom,
  VM,
  type VmSnapshots,
  VOLUME,
} from "../../contracts.ts";
import type { DataLayout } from "../../layout.ts";
import type { KeyedMutex } from "../../locks.ts";
import { log } from "../../log.ts";
import { checkCreate, findOr404, KindReads, lockKey, newMeta, now } from "../common.ts";
import { assertDisksHeld, hardwareOf, planDisks } from "./disks.ts";
import { SnapshotFiles } from "./files.ts";
import { LiveSnapshots } from "./live.ts";
import { startFrom } from "./start_from.ts";
import { runPaths } from "../../../qemu/launch.ts";

const digest = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

export class SnapshotController extends KindReads<T.SnapshotSpec, T.SnapshotStatus>
  implements VmSnapshots {
  readonly files: SnapshotFiles;
  readonly #live: LiveSnapshots;

  constructor(
    override readonly store: SnapshotStore,
    private readonly vms: VmStore,
    private readonly volumes: VolumeStore,
    private readonly refs: RefStore,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    private readonly running: RunningVms,
    private readonly layout: DataLayout,
    qemuImg: string | undefined,
    /** A running guest went back to a snapshot: what was connected into it ends. */
    private readonly onRestored: (vmId: string, snapshot: string) => void = () => {},
  ) {
    super(store, SNAPSHOT);
    this.files = new SnapshotFiles(qemuImg);
    this.#live = new LiveSnapshots(this.files);
  }

  #vmLocked<R>(vmId: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(lockKey(VM, vmId), fn);
  }

  listFor(selector: string, vmRef: string): StoredSnapshot[] {
    const vmId = vmRef ? findOr404(this.vms, VM, vmRef, "vm").meta.id : "";
    const reqs = parseSelector(selector);
    return this.store.list().filter((s) =>
      (!vmId || s.spec.vm === vmId) && matches(reqs, s.meta.labels)
    );
  }

  async create(req: T.CreateSnapshotRequest): Promise<StoredSnapshot> {
    const { name, labels, annotations, spec } = checkCreate(
      req.meta,
      () => normalizeSnapshotSpec(req.spec),
      { nameOptional: true },
    );
    const vmId = findOr404(this.vms, VM, spec.vm, "spec.vm").meta.id;
    return await this.#vmLocked(vmId, async () => {
      const s = await this.begin(vmId, { name, labels, annotations }, spec);
      return await this.take(s);
    });
  }

  /**
   * Plans a snapshot of a VM and records it as CREATING (nothing is saved yet). The
   * caller holds the VM's lock; a checkpoint begins all its VMs' snapshots, then takes them.
   */
  async begin(
    vmId: string,
    maps: { name: string; labels: Record<string, string>; annotations: Record<string, string> },
    spec: T.SnapshotSpec,
  ): Promise<StoredSnapshot> {
    const vm = findOr404(this.vms, VM, vmId, "spec.vm");
    const disks = await planDisks(
      { name: vm.meta.name, spec: vm.spec },
      this.volumes,
      (p) => this.files.format(p),
      runPaths(this.layout.vmDir(vmId)).firmwareVars,
    );
    const running = !!this.running.runtime(vmId);
    const memory = spec.include_memory && running;
    const included = disks.filter((d) => d.included);
    if (!memory && included.length === 0) {
      throw fieldError(
        Status.FAILED_PRECONDITION,
        spec.include_memory ? "spec.vm" : "spec.include_memory",
        `vm ${quote(vm.meta.name)} has no writable disk to snapshot` +
          (running ? "; take one with include_memory" : "; start it and take one with memory"),
      );
    }
    const id = randomUUID();
    const s: StoredSnapshot = {
      meta: newMeta(id, "", { labels: maps.labels, annotations: maps.annotations }),
      spec: { ...spec, vm: vmId },
      status: {
        state: "SNAPSHOT_CREATING",
        vm_name: vm.meta.name,
        has_memory: memory,
        disks,
        memory_bytes: 0,
        progress_bytes: 0,
        progress_total_bytes: 0,
        pause_ms: 0,
        completed_at: "",
        qemu_version: "",
        machine: "",
        message: "",
        last_restored_at: "",
        hardware: digest(hardwareOf(vm.spec)),
      },
    };
    await this.claims.run(() => {
      s.meta.name = maps.name || this.#freeName(vm.meta.name);
      this.claims.assertNameFree(this.store, SNAPSHOT, s.meta.name);
      this.store.insert(s);
      this.refs.set(
        { kind: SNAPSHOT, id },
        included.filter((d) => d.volume_id).map((d) => ({
          field: "status.disks",
          kind: VOLUME,
          id: d.volume_id,
        })),
      );
    });
    log.info("snapshot started", { id, vm: vmId, memory });
    return s;
  }

  /**
   * Saves a begun snapshot and marks it READY; a failure removes what was made and the
   * record. A running guest the caller paused first stays paused (a checkpoint resumes
   * them all together).
   */
  async take(s: StoredSnapshot): Promise<StoredSnapshot> {
    const id = s.meta.id, vmId = s.spec.vm;
    const vmDir = this.layout.vmDir(vmId);
    const included = s.status.disks.filter((d) => d.included);
    const memory = s.status.has_memory;
    try {
      const rt = this.running.runtime(vmId);
      let taken: Partial<T.SnapshotStatus> = {};
      if (rt) {
        const ram = (this.vms.get(vmId)?.spec.memory_mb ?? 0) * 1024 * 1024;
        if (memory) this.store.patchStatus(id, { progress_total_bytes: ram });
        taken = await this.#live.save(
          rt,
          vmDir,
          id,
          included,
          memory,
          // QEMU's writes include the state file's metadata: never past the RAM.
          (b) => this.store.patchStatus(id, { progress_bytes: Math.min(b, ram) }),
        );
      } else await this.files.create(id, included.map((d) => d.path));
      if (memory) taken.memory_bytes = await this.files.memoryBytes(vmDir, id);
      this.store.patchStatus(id, { ...taken, state: "SNAPSHOT_READY", completed_at: now() });
      log.info("snapshot taken", { id, vm: vmId, memory, pause_ms: taken.pause_ms ?? 0 });
      return this.find(id);
    } catch (e) {
      await this.#discard(this.find(id)).catch((r) =>
        log.error("cannot remove a failed snapshot", { id, error: String(r) })
      );
      throw e;
    }
  }

  /** "<vm>-<time>", with "-2", "-3"... when two are taken within a second. */
  #freeName(vmName: string): string {
    const base = defaultSnapshotName(vmName, new Date());
    let name = base;
    for (let i = 2; this.store.getByName(name); i++) name = `${base.slice(0, 60)}-${i}`;
    return name;
  }

  startFrom(vmId: string, ref: string, field: string): StartFrom {
    const s = this.find(ref, field);
    const vm = findOr404(this.vms, VM, vmId);
    return startFrom(s, vm, field, {
      store: this.store,
      live: this.#live,
      vmDir: this.layout.vmDir(vmId),
      hardware: digest(hardwareOf(vm.spec)),
    });
  }

  restore(ref: string): Promise<StoredSnapshot> {
    const s0 = this.find(ref);
    return this.#vmLocked(s0.spec.vm, async () => {
      const s = this.find(s0.meta.id);
      const vm = findOr404(this.vms, VM, s.spec.vm);
      const running = !!this.running.runtime(vm.meta.id);
      await this.checkRollBack(s);
      const t0 = performance.now();
      await this.rollBack(s, true);
      const ms = Math.round(performance.now() - t0);
      const clock = running ? (await this.setClock(vm.meta.id)).message : "";
      this.store.patchStatus(s.meta.id, {
        last_restored_at: now(),
        message: running
          ? `vm ${vm.meta.name} runs on from this snapshot (restored in ${ms} ms); ${clock}`
          : `the disks of vm ${vm.meta.name} were rolled back; it stays stopped`,
      });
      log.info("snapshot restored", { id: s.meta.id, vm: vm.meta.id, running, ms });
      return this.find(s.meta.id);
    });
  }

  /**
   * Refuses what a rollback could not do, before anything changes: a snapshot not ready;
   * into a running VM, one without memory, another hardware or a QEMU that cannot load
   * it; for a stopped VM, disks it no longer writes to. The caller holds the VM's lock.
   */
  async checkRollBack(s: StoredSnapshot): Promise<void> {
    if (s.status.state !== "SNAPSHOT_READY") {
      throw failedPrecondition(`snapshot ${quote(s.meta.name)} is in use or being made`);
    }
    const vm = findOr404(this.vms, VM, s.spec.vm);
    const rt = this.running.runtime(vm.meta.id);
    if (!rt) return await assertDisksHeld(s, vm, this.volumes, (p) => this.files.format(p));
    if (!s.status.has_memory) {
      throw failedPrecondition(
        `snapshot ${quote(s.meta.name)} holds disks only, and vm ${
          quote(vm.meta.name)
        } is running: stop it first (infrasim vm stop ${vm.meta.name}), then restore`,
      );
    }
    if (digest(hardwareOf(vm.spec)) !== s.status.hardware) {
      throw failedPrecondition(
        `vm ${quote(vm.meta.name)}'s hardware (CPUs, memory, disks or NICs) changed since ` +
          `snapshot ${quote(s.meta.name)}: its memory cannot be loaded`,
      );
    }
    await this.#live.checkLoadable(rt, s);
  }

  /**
   * Rolls a VM back to a checked snapshot: a running VM's QEMU loads it (and runs on
   * unless `resume` is false), a stopped VM's disks are rolled back.
   */
  async rollBack(s: StoredSnapshot, resume: boolean): Promise<void> {
    const vmId = s.spec.vm;
    const rt = this.running.runtime(vmId);
    const included = s.status.disks.filter((d) => d.included);
    this.store.patchStatus(s.meta.id, { state: "SNAPSHOT_RESTORING" });
    try {
      if (rt) {
        await this.#live.load(rt, this.layout.vmDir(vmId), s.meta.id, included, resume);
        this.vms.patchStatus(vmId, { restored_at: now(), restored_from: s.meta.name });
        this.onRestored(vmId, s.meta.name);
      } else await this.files.apply(s.meta.id, included.map((d) => d.path));
    } finally {
      this.store.patchStatus(s.meta.id, { state: "SNAPSHOT_READY" });
    }
  }

  /** Sets a restored running guest's clock (see LiveSnapshots.setClock); says how it went. */
  setClock(vmId: string): Promise<{ set: boolean; message: string }> {
    return this.#live.setClock(this.layout.vmDir(vmId));
  }

  delete(ref: string): Promise<string> {
    const s0 = this.find(ref);
    // In use by a start or a restore (which hold the VM's lock): refused, not queued.
    if (s0.status.state === "SNAPSHOT_RESTORING") {
      throw failedPrecondition(
        `snapshot ${quote(s0.meta.name)} is in use by a start or a restore of vm ${
          quote(s0.status.vm_name)
        }; delete it when that is done`,
      );
    }
    return this.#vmLocked(s0.spec.vm, async () => {
      const s = this.find(s0.meta.id);
      if (s.status.state !== "SNAPSHOT_READY") {
        throw failedPrecondition(
          `snapshot ${quote(s.meta.name)} is ${
            s.status.state === "SNAPSHOT_CREATING" ? "being made" : "being restored"
          }; delete it when that is done`,
        );
      }
      this.#assertFree(s);
      await this.#discard(s);
      log.info("snapshot deleted", { id: s.meta.id, name: s.meta.name });
      return s.meta.id;
    });
  }

  /** Every snapshot of a VM; the caller holds the VM's lock (a VM delete). */
  async deleteAllOf(vmId: string): Promise<void> {
    this.assertDeletable(vmId, true);
    for (const s of this.store.ofVm(vmId)) await this.#discard(s);
  }

  assertDeletable(vmId: string, withSnapshots: boolean): void {
    const all = this.store.ofVm(vmId);
    if (all.length > 0 && !withSnapshots) {
      const names = all.map((s) => s.meta.name);
      throw fieldError(
        Status.FAILED_PRECONDITION,
        "with_snapshots",
        `vm ${quote(all[0].status.vm_name)} has ${names.length} snapshot(s): ${
          names.slice(0, 5).map(quote).join(", ")
        }${names.length > 5 ? ", ..." : ""}; delete them first, or delete the VM with ` +
          `--with-snapshots`,
      );
    }
    for (const s of all) this.#assertFree(s);
  }

  /** A snapshot that belongs to a checkpoint goes with the checkpoint only. */
  #assertFree(s: StoredSnapshot): void {
    const cp = this.refs.usersOf({ kind: SNAPSHOT, id: s.meta.id }).find((u) =>
      u.kind === CHECKPOINT
    );
    if (!cp) return;
    throw failedPrecondition(
      `snapshot ${quote(s.meta.name)} belongs to a checkpoint (${
        quote(s.meta.labels[CHECKPOINT_LABEL] ?? cp.id)
      }); delete the checkpoint instead (infrasim checkpoint delete)`,
    );
  }

  /** Removes a snapshot from its files, then its record (a checkpoint's, with it). */
  remove(s: StoredSnapshot): Promise<void> {
    return this.#discard(s);
  }

  /** Removes a snapshot from its files, then its record. */
  async #discard(s: StoredSnapshot): Promise<void> {
    const vmDir = this.layout.vmDir(s.spec.vm);
    const paths = s.status.disks.filter((d) => d.included).map((d) => d.path);
    const rt = this.running.runtime(s.spec.vm);
    if (rt) await this.#live.remove(rt, vmDir, s.meta.id, s.status.disks, s.status.has_memory);
    else {
      if (s.status.has_memory) paths.push(this.files.statePath(vmDir));
      await this.files.remove(s.meta.id, paths);
    }
    this.refs.clear({ kind: SNAPSHOT, id: s.meta.id });
    this.store.delete(s.meta.id);
  }

  /**
   * After a restart (and after the VMs were adopted): a snapshot still CREATING was cut
   * short, so what was made of it goes; one RESTORING is ready again, and says the VM may
   * be at either moment.
   */
  async recover(): Promise<void> {
    for (const s of this.store.list()) {
      if (s.status.state === "SNAPSHOT_READY") continue;
      await this.#vmLocked(s.spec.vm, async () => {
        const rt = this.running.runtime(s.spec.vm);
        if (rt) await this.#live.settle(rt, s.meta.id);
        if (s.status.state === "SNAPSHOT_CREATING") {
          await this.#discard(s);
          log.warn("removed a snapshot cut short by a daemon restart", { id: s.meta.id });
        } else {
          this.store.patchStatus(s.meta.id, {
            state: "SNAPSHOT_READY",
            message: "a restore was cut short by a daemon restart: the VM may be at either moment",
          });
        }
      }).catch((e) => log.error("cannot recover a snapshot", { id: s.meta.id, error: String(e) }));
    }
  }
}
