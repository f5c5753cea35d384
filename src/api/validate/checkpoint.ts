// Validation of a checkpoint spec, shared by the daemon and the CLI.
import { Violations } from "../errors.ts";
import type { CheckpointSpec } from "../gen/infrasim.v1.ts";
import { parseSelector } from "../labels.ts";
import { validateDescription } from "./snapshot.ts";

/** The label a checkpoint puts on its snapshots: the checkpoint's name. */
export const CHECKPOINT_LABEL = "infrasim.dev/checkpoint";

export function normalizeCheckpointSpec(spec: CheckpointSpec | null | undefined): CheckpointSpec {
  const s = spec ?? { label_selector: "", description: "" };
  const vs = new Violations();
  const label_selector = (s.label_selector ?? "").trim();
  vs.check(() => parseSelector(label_selector, "spec.label_selector"), undefined);
  const description = vs.check(() => validateDescription(s.description), "");
  vs.done();
  return { label_selector, description };
}
