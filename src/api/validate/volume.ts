// Validation and defaults of a volume spec, shared by the daemon, the CLI and the provider.
import { invalid, Violations } from "../errors.ts";
import type { VolumeSpec } from "../gen/infrasim.v1.ts";
import { intIn } from "./common.ts";
import { validateRef } from "./guest.ts";

/** 1 GiB to 64 TiB: qcow2's own limit is far above what a laptop holds. */
export const VOLUME_SIZE_GB: readonly [number, number] = [1, 65536];

export function normalizeVolumeSpec(spec: VolumeSpec | null | undefined): VolumeSpec {
  if (!spec) throw invalid("spec", "is required");
  const vs = new Violations();
  const image = spec.image
    ? vs.check(() => validateRef(spec.image, "spec.image", "an image"), spec.image)
    : "";
  if (!image && !spec.size_gb) {
    vs.add("spec.size_gb", "is required for a blank volume (one without an image)");
  }
  const size_gb = spec.size_gb
    ? vs.check(() => intIn(Number(spec.size_gb), VOLUME_SIZE_GB, "spec.size_gb"), 0)
    : 0;
  vs.done();
  return { image, size_gb };
}

/** "8G", "8GiB", "8GB" or "8" (GiB) as the CLI takes sizes; whole GiB only. */
export function parseSizeGb(text: string, field: string): number {
  const m = text.trim().match(/^(\d+)\s*(g|gb|gib)?$/i);
  const t = /^(\d+)\s*(t|tb|tib)$/i.exec(text.trim());
  const n = m ? Number(m[1]) : t ? Number(t[1]) * 1024 : NaN;
  if (!Number.isSafeInteger(n)) {
    throw invalid(field, `${JSON.stringify(text.slice(0, 40))} is not a size in GiB (e.g. 8G)`);
  }
  return intIn(n, VOLUME_SIZE_GB, field);
}
