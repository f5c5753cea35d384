// Where the volume kind and running VMs meet: a volume held by a VM grows under the VM's
// lock, inside its QEMU when it runs (the guest sees the new size at once), else offline.
import { volumeDriveId } from "../../qemu/args.ts";
import { type AttachedResize, type RunningVms, VM } from "../contracts.ts";
import type { KeyedMutex } from "../locks.ts";
import { lockKey } from "./common.ts";

export function attachedResize(locks: KeyedMutex, running: RunningVms): AttachedResize {
  return (vmId, volumeId, size, offline) =>
    locks.run(lockKey(VM, vmId), async () => {
      const rt = running.runtime(vmId);
      if (!rt) return void (await offline());
      await rt.qmp.execute("block_resize", { device: volumeDriveId(volumeId), size });
    });
}
