// Which of a VM's disks a snapshot holds: every writable qcow2 disk and volume. Read-only
// disks, the cloud-init seed and the UEFI variable store are left out, and said to be; a
// writable disk that is not qcow2 cannot hold a snapshot, and the request is refused
// naming it.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { failedPrecondition, fieldError, quote, Status } from "../../../api/errors.ts";
import type { VolumeStore } from "../../../store/volume_store.ts";

interface Candidate {
  field: string;
  path: string;
  volumeId: string;
  readOnly: boolean;
  /** "" = read from the file's header. */
  format: string;
}

function candidates(spec: T.VmSpec, volumes: VolumeStore): Candidate[] {
  const out: Candidate[] = [];
  const d = spec.boot?.disk;
  if (d) {
    out.push({
      field: "spec.boot.disk.path",
      path: d.path,
      volumeId: "",
      readOnly: false,
      format: d.format,
    });
  }
  const vol = (ref: string, field: string, readOnly: boolean) => {
    const v = volumes.find(ref);
    if (!v) return;
    const path = v.status.path;
    out.push({ field, path, volumeId: v.meta.id, readOnly, format: "qcow2" });
  };
  if (spec.boot?.volume) vol(spec.boot.volume.volume, "spec.boot.volume.volume", false);
  (spec.volumes ?? []).forEach((v, i) => vol(v.volume, `spec.volumes[${i}].volume`, v.read_only));
  spec.disks.forEach((x, i) =>
    out.push({
      field: `spec.disks[${i}].path`,
      path: x.path,
      volumeId: "",
      readOnly: x.read_only,
      format: x.format,
    })
  );
  return out;
}

/**
 * The disks of a VM as a snapshot sees them. `formatOf` reads a file's format from its
 * header (asynchronously, bounded); raw writable disks are refused on `spec.vm`.
 */
export async function planDisks(
  vm: { name: string; spec: T.VmSpec },
  volumes: VolumeStore,
  formatOf: (path: string) => Promise<string>,
  efiVars: string,
): Promise<T.SnapshotDisk[]> {
  const out: T.SnapshotDisk[] = [];
  for (const c of candidates(vm.spec, volumes)) {
    const base = { field: c.field, path: c.path, volume_id: c.volumeId };
    if (c.readOnly) {
      out.push({ ...base, included: false, reason: "read-only: nothing to roll back" });
      continue;
    }
    const format = c.format || await formatOf(c.path);
    if (format !== "qcow2") {
      throw fieldError(
        Status.FAILED_PRECONDITION,
        "spec.vm",
        `vm ${quote(vm.name)}: its disk ${c.field} (${quote(c.path)}) is ${format}, and only ` +
          `qcow2 can hold a snapshot: convert it (qemu-img convert -O qcow2) or attach it read-only`,
      );
    }
    out.push({ ...base, included: true, reason: "" });
  }
  if (vm.spec.cloud_init) {
    out.push({
      field: "spec.cloud_init",
      path: "",
      volume_id: "",
      included: false,
      reason: "the cloud-init seed is made anew from the spec at each start",
    });
  }
  if (!vm.spec.boot?.kernel) {
    out.push({
      field: "spec.boot",
      path: efiVars,
      volume_id: "",
      included: false,
      reason: "the UEFI variable store (raw) is kept as it is",
    });
  }
  return out;
}

/** The part of a spec a memory snapshot depends on: the machine QEMU builds from it. */
export function hardwareOf(spec: T.VmSpec): string {
  return JSON.stringify({
    arch: spec.arch,
    machine: spec.machine,
    cpu_cores: spec.cpu_cores,
    memory_mb: spec.memory_mb,
    boot: spec.boot,
    disks: spec.disks,
    volumes: spec.volumes,
    network: spec.network?.mode,
    nics: spec.network_interfaces.map((n) => n.mac),
    display: spec.display ?? "",
    cloud_init: !!spec.cloud_init,
  });
}

/** A stopped VM's disks are rolled back only if they are still this VM's disks. */
export async function assertDisksHeld(
  s: { meta: { name: string }; status: T.SnapshotStatus },
  vm: { meta: { name: string }; spec: T.VmSpec },
  volumes: VolumeStore,
  format: (path: string) => Promise<string>,
): Promise<void> {
  const cur = await planDisks({ name: vm.meta.name, spec: vm.spec }, volumes, format, "");
  const held = new Set(cur.filter((d) => d.included).map((d) => d.path));
  const gone = s.status.disks.filter((d) => d.included && !held.has(d.path));
  if (gone.length === 0) return;
  throw failedPrecondition(
    `snapshot ${quote(s.meta.name)} holds ${gone.map((d) => d.field).join(", ")}, which vm ${
      quote(vm.meta.name)
    } no longer writes to; attach ${gone.length > 1 ? "them" : "it"} again to restore`,
  );
}
