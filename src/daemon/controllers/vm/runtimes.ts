// The table of running QEMUs. The runner owns it (adds on attach, removes on exit);
// everyone else reads it through the RunningVms contract.
import type { VmRuntime } from "../../../qemu/runtime.ts";
import type { RunningVms } from "../../contracts.ts";

export class VmRuntimes implements RunningVms {
  #byVm = new Map<string, VmRuntime>();

  runtime(vmId: string): VmRuntime | undefined {
    const rt = this.#byVm.get(vmId);
    return rt?.running ? rt : undefined;
  }

  /** The entry, running or not (the runner's own bookkeeping). */
  entry(vmId: string): VmRuntime | undefined {
    return this.#byVm.get(vmId);
  }

  set(vmId: string, rt: VmRuntime): void {
    this.#byVm.set(vmId, rt);
  }

  /** Removes the entry; with rt, only while it is still that one. */
  delete(vmId: string, rt?: VmRuntime): void {
    if (!rt || this.#byVm.get(vmId) === rt) this.#byVm.delete(vmId);
  }

  /** Daemon shutdown: every runtime stops watching; QEMU keeps running. */
  detachAll(): void {
    for (const rt of this.#byVm.values()) rt.detach();
    this.#byVm.clear();
  }
}
