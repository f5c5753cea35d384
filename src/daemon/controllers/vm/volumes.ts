// A VM's volumes: resolving its references (id or name, as the user wrote them) and
// claiming them. A writable volume is attached to at most one VM; a read-only one may be
// shared by VMs that all read only. Claims run under the shared claims lock.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { fieldError, invalid, quote, Status } from "../../../api/errors.ts";
import type { VolumeDrive } from "../../../qemu/args.ts";
import type { Ref, RefStore } from "../../../store/refs.ts";
import type { VmStore } from "../../../store/vm_store.ts";
import type { VolumeStore } from "../../../store/volume_store.ts";
import { VM, VOLUME } from "../../contracts.ts";

const BOOT_FIELD = "spec.boot.volume.volume";

interface Wanted {
  field: string;
  ref: string;
  readOnly: boolean;
}

function wanted(spec: T.VmSpec): Wanted[] {
  const out: Wanted[] = [];
  if (spec.boot?.volume) {
    out.push({ field: BOOT_FIELD, ref: spec.boot.volume.volume, readOnly: false });
  }
  (spec.volumes ?? []).forEach((v, i) =>
    out.push({ field: `spec.volumes[${i}].volume`, ref: v.volume, readOnly: v.read_only })
  );
  return out;
}

/** Whether the VM holding a volume through `field` writes to it. */
function writes(vms: VmStore, vmId: string, field: string): boolean {
  if (field === BOOT_FIELD) return true;
  const i = Number(field.match(/^spec\.volumes\[(\d+)\]/)?.[1]);
  return !vms.get(vmId)?.spec.volumes?.[i]?.read_only;
}

/**
 * Checks that every volume exists and is free for this VM; returns the references to
 * record. Call under the claims lock, and record them in the same critical section.
 */
export function claimVolumes(
  vmId: string,
  spec: T.VmSpec,
  volumes: VolumeStore,
  refs: RefStore,
  vms: VmStore,
): Ref[] {
  return wanted(spec).map((w) => {
    const v = volumes.find(w.ref);
    if (!v) throw invalid(w.field, `volume ${quote(w.ref)} not found`);
    for (const u of refs.usersOf({ kind: VOLUME, id: v.meta.id })) {
      if (u.kind !== VM || u.id === vmId) continue;
      if (w.readOnly && !writes(vms, u.id, u.field)) continue;
      const holder = vms.get(u.id)?.meta.name ?? u.id;
      throw fieldError(
        Status.FAILED_PRECONDITION,
        w.field,
        `volume ${quote(v.meta.name)} is attached to VM ${quote(holder)}; ` +
          `a writable volume can be attached to one VM only (detach it there first)`,
      );
    }
    return { field: w.field, kind: VOLUME, id: v.meta.id };
  });
}

/** The drives to attach at a start, the boot volume first. */
export function volumeDrives(spec: T.VmSpec, volumes: VolumeStore): VolumeDrive[] {
  return wanted(spec).map((w) => {
    const v = volumes.find(w.ref);
    if (!v) {
      throw fieldError(Status.FAILED_PRECONDITION, w.field, `volume ${quote(w.ref)} not found`);
    }
    return {
      id: v.meta.id,
      path: v.status.path,
      readOnly: w.readOnly,
      boot: w.field === BOOT_FIELD,
    };
  });
}
