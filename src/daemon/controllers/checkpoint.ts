// The checkpoint kind: a set of VM snapshots taken at one moment. Every VM of the set is
// locked (in id order, so two checkpoints never deadlock), every running one paused, each
// snapshotted (with memory when it runs), and all resumed together; the pause is
// measured. A restore rolls them all back while they are paused, with their networks'
// and links' impairment as it was, and resumes them together.
import { randomUUID } from "node:crypto";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { failedPrecondition, fieldError, quote, Status } from "../../api/errors.ts";
import { normalizeCheckpointSpec } from "../../api/validate/checkpoint.ts";
import { matches, parseSelector } from "../../api/labels.ts";
import type { NetworkStore } from "../../store/network_store.ts";
import type { ObjectStore, StoredObject } from "../../store/objects.ts";
import type { RefStore } from "../../store/refs.ts";
import type { StoredSnapshot } from "../../store/snapshot_store.ts";
import type { VmStore } from "../../store/vm_store.ts";
import type { Claims } from "../claims.ts";
import {
  CHECKPOINT,
  CHECKPOINT_LABEL,
  type LinkSettings,
  type RunningVms,
  SNAPSHOT,
  VM,
} from "../contracts.ts";
import type { KeyedMutex } from "../locks.ts";
import { log } from "../log.ts";
import { checkCreate, KindReads, lockKey, newMeta, now } from "./common.ts";
import type { SnapshotController } from "./snapshot/controller.ts";

/** A hold outlives a daemon that dies mid-checkpoint by this much at most. */
const HOLD_MS = 10 * 60_000;

/** What the status says of the link queues: held on every network, or on fewer. */
function heldMessage(held: number, networks: number): string {
  if (networks === 0) return "";
  if (held === networks) return `the link queues of ${held} network(s) were held meanwhile`;
  return `the link queues of ${held} of ${networks} network(s) were held (an engine ` +
    `did not answer; see the daemon log)`;
}

export type StoredCheckpoint = StoredObject<T.CheckpointSpec, T.CheckpointStatus>;

export class CheckpointController extends KindReads<T.CheckpointSpec, T.CheckpointStatus> {
  constructor(
    override readonly store: ObjectStore<T.CheckpointSpec, T.CheckpointStatus>,
    private readonly vms: VmStore,
    private readonly networks: NetworkStore,
    private readonly snapshots: SnapshotController,
    private readonly refs: RefStore,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    private readonly running: RunningVms,
    private readonly links: LinkSettings,
  ) {
    super(store, CHECKPOINT);
  }

  /** Runs fn holding every VM's lock, taken in id order. */
  #locked<R>(vmIds: string[], fn: () => Promise<R>): Promise<R> {
    const ids = [...new Set(vmIds)].sort();
    const run = (i: number): Promise<R> =>
      i === ids.length ? fn() : this.locks.run(lockKey(VM, ids[i]), () => run(i + 1));
    return run(0);
  }

  /**
   * Pauses the running QEMUs of these VMs and holds their networks' link queues, runs fn,
   * and resumes them all together; returns how long they were paused and the networks
   * whose queues were held.
   */
  async #paused(
    vmIds: string[],
    fn: () => Promise<unknown>,
  ): Promise<{ pauseMs: number; held: number }> {
    const rts = vmIds.map((id) => this.running.runtime(id)).filter((rt) => !!rt);
    const nets = [
      ...new Set(
        vmIds.flatMap((id) => this.vms.get(id)?.status.links.map((l) => l.network_id) ?? []),
      ),
    ].filter(Boolean);
    const [links] = await Promise.all([
      this.links.holdLinks(nets, HOLD_MS),
      ...rts.map((rt) => rt.qmp.execute("stop")),
    ]);
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      await Promise.all([
        links.release(),
        ...rts.map((rt) =>
          rt.qmp.execute("cont").catch((e) =>
            log.error("cannot resume a vm after a checkpoint", { pid: rt.pid, error: String(e) })
          )
        ),
      ]);
    }
    return { pauseMs: Math.round(performance.now() - t0), held: links.held.length };
  }

  async create(req: T.CreateCheckpointRequest): Promise<StoredCheckpoint> {
    const { name, labels, annotations, spec } = checkCreate(
      req.meta,
      () => normalizeCheckpointSpec(req.spec),
    );
    const reqs = parseSelector(spec.label_selector, "spec.label_selector");
    const chosen = this.vms.list().filter((vm) => matches(reqs, vm.meta.labels));
    if (chosen.length === 0) {
      throw fieldError(
        Status.FAILED_PRECONDITION,
        "spec.label_selector",
        spec.label_selector
          ? `selects no VM (${quote(spec.label_selector)})`
          : "there is no VM to checkpoint",
      );
    }
    const t0 = performance.now();
    return await this.#locked(chosen.map((v) => v.meta.id), async () => {
      const id = randomUUID();
      const members = chosen.map((v) => this.vms.get(v.meta.id)).filter((v) => !!v);
      const netIds = new Set(
        members.flatMap((v) => v.status.links.map((l) => l.network_id)).filter(Boolean),
      );
      const cp: StoredCheckpoint = {
        meta: newMeta(id, name, { labels, annotations }),
        spec,
        status: {
          state: "CHECKPOINT_CREATING",
          vms: [],
          networks: [...netIds].map((n) => this.networks.get(n)).filter((n) => !!n).map((n) => ({
            network_id: n.meta.id,
            network_name: n.meta.name,
            link_qos: n.spec.link_qos ?? null,
          })),
          pause_ms: 0,
          total_ms: 0,
          completed_at: "",
          last_restored_at: "",
          message: "",
        },
      };
      await this.claims.run(() => {
        this.claims.assertNameFree(this.store, CHECKPOINT, name);
        this.store.insert(cp);
      });
      const begun: StoredSnapshot[] = [];
      try {
        for (const vm of members) {
          begun.push(
            await this.snapshots.begin(vm.meta.id, {
              name: "",
              labels: { [CHECKPOINT_LABEL]: name },
              annotations: {},
            }, { vm: vm.meta.id, include_memory: true, description: `checkpoint ${name}` }),
          );
        }
        const { pauseMs, held } = await this.#paused(
          members.map((v) => v.meta.id),
          () => Promise.all(begun.map((s) => this.snapshots.take(s))),
        );
        this.refs.set(
          { kind: CHECKPOINT, id },
          begun.map((s) => ({ field: "status.vms", kind: SNAPSHOT, id: s.meta.id })),
        );
        this.store.patchStatus(id, {
          state: "CHECKPOINT_READY",
          vms: begun.map((s, i) => ({
            vm_id: s.spec.vm,
            vm_name: s.status.vm_name,
            snapshot_id: s.meta.id,
            snapshot_name: s.meta.name,
            running: s.status.has_memory,
            network_interfaces: members[i].spec.network_interfaces,
          })),
          pause_ms: pauseMs,
          total_ms: Math.round(performance.now() - t0),
          completed_at: now(),
          message: heldMessage(held, cp.status.networks.length),
        });
        log.info("checkpoint taken", { id, name, vms: members.length, pause_ms: pauseMs });
        return this.find(id);
      } catch (e) {
        for (const s of begun) {
          const cur = this.snapshots.store.get(s.meta.id);
          if (cur) await this.snapshots.remove(cur).catch(() => {});
        }
        this.store.delete(id);
        throw e;
      }
    });
  }

  restore(ref: string): Promise<StoredCheckpoint> {
    const cp0 = this.find(ref);
    return this.#locked(cp0.status.vms.map((m) => m.vm_id), async () => {
      const cp = this.find(cp0.meta.id);
      if (cp.status.state !== "CHECKPOINT_READY") {
        throw failedPrecondition(`checkpoint ${quote(cp.meta.name)} is in use`);
      }
      // Everything that could refuse is checked before any VM is paused.
      const snaps: StoredSnapshot[] = [];
      for (const m of cp.status.vms) {
        const vm = this.vms.get(m.vm_id);
        const s = this.snapshots.store.get(m.snapshot_id);
        if (!vm || !s) {
          throw failedPrecondition(
            `checkpoint ${quote(cp.meta.name)}: vm ${quote(m.vm_name)} or its snapshot is gone`,
          );
        }
        if (!!this.running.runtime(vm.meta.id) !== m.running) {
          throw failedPrecondition(
            `checkpoint ${quote(cp.meta.name)}: vm ${quote(m.vm_name)} was ${
              m.running ? "running" : "stopped"
            } then and is not now; ${m.running ? "start" : "stop"} it (infrasim vm ${
              m.running ? "start" : "stop"
            } ${m.vm_name}), then restore`,
          );
        }
        await this.snapshots.checkRollBack(s);
        snaps.push(s);
      }
      this.store.patchStatus(cp.meta.id, { state: "CHECKPOINT_RESTORING" });
      const t0 = performance.now();
      let paused = { pauseMs: 0, held: 0 };
      try {
        paused = await this.#paused(cp.status.vms.map((m) => m.vm_id), async () => {
          await Promise.all(snaps.map((s) => this.snapshots.rollBack(s, false)));
          for (const n of cp.status.networks) {
            await this.links.setNetworkQos(n.network_id, n.link_qos ?? null);
          }
          for (const m of cp.status.vms) {
            await this.links.setVmLinks(m.vm_id, m.network_interfaces);
          }
        });
      } finally {
        this.store.patchStatus(cp.meta.id, { state: "CHECKPOINT_READY" });
      }
      // The guests run again: their agents set their clocks.
      const running = cp.status.vms.filter((m) => m.running);
      const clocks = await Promise.all(running.map((m) => this.snapshots.setClock(m.vm_id)));
      // Each one's own reason: "vm a: the guest's clock was not set (no guest agent ...)".
      const unset = running.flatMap((m, i) =>
        clocks[i].set ? [] : [`vm ${m.vm_name}: ${clocks[i].message}`]
      );
      this.store.patchStatus(cp.meta.id, {
        last_restored_at: now(),
        total_ms: Math.round(performance.now() - t0),
        message:
          `${snaps.length} VM(s) rolled back together; they were paused ${paused.pauseMs} ms; ` +
          (unset.length
            ? unset.join("; ").slice(0, 400)
            : "their clocks were set to the host's time by their guest agents"),
      });
      log.info("checkpoint restored", { id: cp.meta.id, pause_ms: paused.pauseMs });
      return this.find(cp.meta.id);
    });
  }

  /** Deletes a checkpoint and its snapshots. */
  delete(ref: string): Promise<string> {
    const cp0 = this.find(ref);
    return this.#locked(cp0.status.vms.map((m) => m.vm_id), async () => {
      const cp = this.find(cp0.meta.id);
      if (cp.status.state === "CHECKPOINT_RESTORING") {
        throw failedPrecondition(`checkpoint ${quote(cp.meta.name)} is being restored`);
      }
      this.refs.clear({ kind: CHECKPOINT, id: cp.meta.id });
      for (const m of cp.status.vms) {
        const s = this.snapshots.store.get(m.snapshot_id);
        if (s) await this.snapshots.remove(s);
      }
      this.store.delete(cp.meta.id);
      log.info("checkpoint deleted", { id: cp.meta.id, name: cp.meta.name });
      return cp.meta.id;
    });
  }

  /** After a restart: a checkpoint cut short mid-create goes (its snapshots were CREATING). */
  async recover(): Promise<void> {
    for (const cp of this.store.list()) {
      if (cp.status.state === "CHECKPOINT_READY") continue;
      if (cp.status.state === "CHECKPOINT_RESTORING") {
        this.store.patchStatus(cp.meta.id, {
          state: "CHECKPOINT_READY",
          message: "a restore was cut short by a daemon restart: the VMs may be at either moment",
        });
        continue;
      }
      const taken = this.snapshots.store.list().filter((s) =>
        s.meta.labels[CHECKPOINT_LABEL] === cp.meta.name
      );
      for (const s of taken) await this.snapshots.remove(s).catch(() => {});
      this.refs.clear({ kind: CHECKPOINT, id: cp.meta.id });
      this.store.delete(cp.meta.id);
      log.warn("removed a checkpoint cut short by a daemon restart", { id: cp.meta.id });
    }
  }
}
