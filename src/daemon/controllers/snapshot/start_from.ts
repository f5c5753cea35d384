// A stopped VM started from one of its snapshots with memory: what is refused before
// QEMU starts (another VM's snapshot, disks only, other hardware), and the load into the
// QEMU started paused. The snapshot is held (RESTORING) until the start is over.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { fieldError, quote, Status } from "../../../api/errors.ts";
import type { SnapshotStore, StoredSnapshot } from "../../../store/snapshot_store.ts";
import type { StoredVm } from "../../../store/vm_store.ts";
import type { StartFrom } from "../../contracts.ts";
import { now } from "../common.ts";
import type { LiveSnapshots } from "./live.ts";

export function startFrom(
  s: StoredSnapshot,
  vm: StoredVm,
  field: string,
  deps: { store: SnapshotStore; live: LiveSnapshots; vmDir: string; hardware: string },
): StartFrom {
  const name = quote(s.meta.name);
  const fail = (msg: string) => fieldError(Status.FAILED_PRECONDITION, field, msg);
  if (s.spec.vm !== vm.meta.id) {
    throw fieldError(
      Status.INVALID_ARGUMENT,
      field,
      `snapshot ${name} is vm ${quote(s.status.vm_name)}'s, not vm ${quote(vm.meta.name)}'s`,
    );
  }
  if (s.status.state !== "SNAPSHOT_READY") throw fail(`snapshot ${name} is in use; try again`);
  if (!s.status.has_memory) {
    throw fail(
      `snapshot ${name} holds disks only: restore it (infrasim snapshot restore ` +
        `${s.meta.name}), then start the VM`,
    );
  }
  if (deps.hardware !== s.status.hardware) {
    throw fail(
      `vm ${quote(vm.meta.name)}'s hardware (CPUs, memory, disks or NICs) changed since ` +
        `snapshot ${name}: its memory cannot be loaded`,
    );
  }
  const included: T.SnapshotDisk[] = s.status.disks.filter((d) => d.included);
  let loaded = false;
  deps.store.patchStatus(s.meta.id, { state: "SNAPSHOT_RESTORING" });
  return {
    machine: s.status.machine,
    load: async (rt) => {
      await deps.live.checkLoadable(rt, s);
      await deps.live.load(rt, deps.vmDir, s.meta.id, included, false);
      loaded = true;
    },
    done: async () => {
      // Once the guest runs: its agent answers only then.
      const clock = loaded ? (await deps.live.setClock(deps.vmDir)).message : "";
      deps.store.patchStatus(s.meta.id, {
        state: "SNAPSHOT_READY",
        ...(loaded
          ? {
            last_restored_at: now(),
            message: `vm ${vm.meta.name} started from this snapshot; ${clock}`,
          }
          : {}),
      });
    },
  };
}
