// What every resource's delete and read share: an object already gone counts as
// deleted, and reads as null (Terraform then plans a create); labels read back in the
// prior's form.
import { ApiError, Status } from "../../api/errors.ts";
import type * as P from "../../api/gen/tfplugin6.ts";
import { validateLabels, validateName } from "../../api/validate/common.ts";
import { containsUnknown } from "./cty.ts";
import { errorDiags } from "./diagnostics.ts";
import type { BlockDef } from "./schema.ts";
import type { ApplyResult, Obj } from "./resource.ts";

const gone = (e: unknown) => e instanceof ApiError && e.code === Status.NOT_FOUND;

export async function deleteObject(
  call: () => Promise<unknown>,
  prior: Obj,
  kind: string,
): Promise<ApplyResult> {
  try {
    await call();
  } catch (e) {
    if (!gone(e)) return { state: prior, diagnostics: errorDiags(e, `Cannot delete ${kind}`) };
  }
  return { state: null, diagnostics: [] };
}

export async function readObject<V>(get: () => Promise<V>, to: (v: V) => Obj): Promise<Obj | null> {
  try {
    return to(await get());
  } catch (e) {
    if (gone(e)) return null;
    throw e;
  }
}

/** Empty labels read back as the prior's form (null or {}). */
export function labelsLike(labels: Record<string, string>, prior: Obj | null) {
  const p = prior?.labels as Record<string, string> | null | undefined;
  if (Object.keys(labels).length > 0) return labels;
  return p && Object.keys(p).length === 0 ? p : null;
}

/**
 * The checks every kind's configuration starts with (name, labels), and `check`, which
 * turns an ApiError from a shared validator into a diagnostic on its attribute.
 */
export function metaChecks(config: Obj, schema: BlockDef) {
  const out: P.Diagnostic[] = [];
  const check = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      out.push(...errorDiags(e, "Invalid configuration", schema));
    }
  };
  if (typeof config.name === "string") check(() => validateName(config.name, "meta.name"));
  if (config.labels && !containsUnknown(config.labels)) {
    check(() => validateLabels(config.labels as Record<string, string>, "meta.labels"));
  }
  return { out, check };
}
