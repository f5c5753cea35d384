// Planning shared by every resource: defaults where the configuration is null,
// computed-only values unknown on create and replace (and kept otherwise), and
// requires_replace for forceNew attributes and blocks, with the resource's own hooks
// before (derived values) and after (values only it can predict).
import { type CtyValue, isUnknown, UNKNOWN } from "./cty.ts";
import type * as P from "../../api/gen/tfplugin6.ts";
import type { Path } from "./diagnostics.ts";
import type { Obj, Resource } from "./resource.ts";
import { applyDefaults } from "./schema.ts";

/** Compares values with unknowns as a marker and object keys sorted (Terraform sorts). */
export function changed(a: CtyValue | undefined, b: CtyValue | undefined): boolean {
  return JSON.stringify(a, replacer) !== JSON.stringify(b, replacer);
}

function replacer(_k: string, v: unknown) {
  if (isUnknown(v)) return "__unknown__";
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  }
  return v;
}

export function planResource(
  r: Resource,
  prior: Obj | null,
  proposed: Obj,
  config: Obj,
): { planned: Obj; replace: Path[]; diagnostics: P.Diagnostic[] } {
  // Defaults apply wherever the configuration is null, not only on create: removing
  // `running = false` from a configuration means running again.
  const planned = applyDefaults(r.schema, proposed, config);
  r.derivePlan?.(planned, prior);
  const computedOnly = r.schema.attributes.filter((a) => a.computed && !a.optional);
  const replace: Path[] = [];
  if (prior !== null) {
    for (const a of r.schema.attributes) {
      if (a.forceNew && changed(prior[a.name], planned[a.name])) replace.push([a.name]);
    }
    for (const b of r.schema.blocks ?? []) {
      if (b.forceNew && changed(prior[b.typeName], planned[b.typeName])) replace.push([b.typeName]);
    }
  }
  const replacing = replace.length > 0;
  if (prior === null || replacing) { for (const a of computedOnly) planned[a.name] = UNKNOWN; }
  const diagnostics: P.Diagnostic[] = [];
  r.modifyPlan?.(planned, { prior, config, replacing, diagnostics });
  return { planned, replace, diagnostics };
}
