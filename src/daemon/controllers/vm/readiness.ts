// The daemon's own readiness probe: while a VM with spec.wait_for runs and is not yet
// ready, its condition is checked (every 0.5 s, then every 2 s after two minutes); once
// met, status.ready is stored, so `vm wait`, Terraform and any watcher see it as a change.
// A restart or a new wait_for starts the probe over; a stop ends it.
import type { StoredVm, VmStore } from "../../../store/vm_store.ts";
import type { Readiness, RunningVms } from "../../contracts.ts";
import { log } from "../../log.ts";
import { now } from "../common.ts";
import { ReadyCheck } from "./wait.ts";

const FAST_MS = 500;
const SLOW_MS = 2000;
const FAST_FOR_MS = 120_000;

export class VmReadiness implements Readiness {
  #probes = new Map<string, AbortController>();

  constructor(private readonly store: VmStore, private readonly running: RunningVms) {}

  start(vmId: string): void {
    this.stop(vmId);
    const vm = this.store.get(vmId);
    if (!vm) return;
    this.store.patchStatus(vmId, { ready: false, ready_at: "" });
    if (!vm.spec.wait_for) return;
    const abort = new AbortController();
    this.#probes.set(vmId, abort);
    this.#probe(vm, new ReadyCheck(vm.spec.wait_for), abort.signal).catch((e) =>
      log.warn("readiness probe failed", { id: vmId, error: String(e) })
    ).finally(() => {
      if (this.#probes.get(vmId) === abort) this.#probes.delete(vmId);
    });
  }

  async #probe(vm: StoredVm, check: ReadyCheck, signal: AbortSignal): Promise<void> {
    const id = vm.meta.id;
    const t0 = Date.now();
    while (!signal.aborted && this.running.runtime(id)) {
      const cur = this.store.get(id);
      if (!cur) return;
      if (await check.met(cur)) {
        if (signal.aborted) return;
        this.store.patchStatus(id, { ready: true, ready_at: now() });
        log.info("vm ready", { id, ms: Date.now() - t0 });
        return;
      }
      await new Promise((r) => setTimeout(r, Date.now() - t0 < FAST_FOR_MS ? FAST_MS : SLOW_MS));
    }
  }

  resume(vmId: string): void {
    if (!this.store.get(vmId)?.status.ready) this.start(vmId);
  }

  /** The VM stopped (or is deleted): no more probing, and not ready. */
  stop(vmId: string): void {
    this.#probes.get(vmId)?.abort();
    this.#probes.delete(vmId);
    if (this.store.get(vmId)?.status.ready) {
      this.store.patchStatus(vmId, { ready: false, ready_at: "" });
    }
  }

  /** Daemon shutdown: probes end; the next daemon probes again after adoption. */
  detachAll(): void {
    for (const a of this.#probes.values()) a.abort();
    this.#probes.clear();
  }
}
