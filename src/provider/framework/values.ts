// Reading Terraform values: strings, nested block lists and labels, as every resource does.
import type { CtyValue } from "./cty.ts";
import type { Obj } from "./resource.ts";

export const str = (v: CtyValue): string => (typeof v === "string" ? v : "");

/** A nested block list; an unknown list (dynamic block, unknown for_each) is empty here. */
export function listOf(v: CtyValue | undefined): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

export function labelsOf(o: Obj): Record<string, string> {
  return (o.labels && typeof o.labels === "object" && !Array.isArray(o.labels)
    ? o.labels
    : {}) as Record<string, string>;
}
