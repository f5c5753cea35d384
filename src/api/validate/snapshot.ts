// Validation and defaults of a snapshot spec, shared by the daemon, the CLI and the provider.
import { invalid, Violations } from "../errors.ts";
import type { SnapshotSpec } from "../gen/infrasim.v1.ts";
import { validateRef } from "./guest.ts";

export const MAX_DESCRIPTION = 1024;

export function normalizeSnapshotSpec(spec: SnapshotSpec | null | undefined): SnapshotSpec {
  if (!spec) throw invalid("spec", "is required");
  const vs = new Violations();
  const vm = vs.check(() => validateRef(spec.vm, "spec.vm", "a VM"), "");
  const description = vs.check(() => validateDescription(spec.description), "");
  vs.done();
  return { vm, include_memory: !!spec.include_memory, description };
}

/** Free text of a snapshot or a checkpoint: bounded, like every input. */
export function validateDescription(text: string | undefined, field = "spec.description"): string {
  const d = text ?? "";
  if (d.length > MAX_DESCRIPTION) {
    throw invalid(field, `must be at most ${MAX_DESCRIPTION} characters (got ${d.length})`);
  }
  return d;
}

/**
 * The name a snapshot gets when none is given: its VM's and the UTC time to the second,
 * e.g. "web-20261203-161502" (a DNS label, like every name).
 */
export function defaultSnapshotName(vmName: string, at: Date): string {
  const t = at.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${vmName.slice(0, 63 - t.length - 1).replace(/-+$/, "")}-${t}`;
}
