// Terraform diagnostics, and where the API's field violations (spec.memory_mb) land in a
// resource: the attribute paths Terraform underlines, derived from the schema.
import type * as T from "../../api/gen/tfplugin6.ts";
import { ApiError, Status } from "../../api/errors.ts";
import type { BlockDef } from "./schema.ts";

export type Path = (string | number)[];

export function attributePath(path: Path): T.AttributePath {
  return {
    steps: path.map((s) =>
      typeof s === "number" ? { element_key_int: s } : { attribute_name: s }
    ) as T.AttributePath_Step[],
  };
}

export function diag(
  summary: string,
  detail = "",
  path?: Path,
  severity: T.Diagnostic_Severity = "ERROR",
): T.Diagnostic {
  return { severity, summary, detail, attribute: path ? attributePath(path) : null };
}

/**
 * The attribute an API field lands on, read off the schema: each attribute and block says
 * which API field it sets (`field`; inside a block, relative to it, by default its own
 * name). A list block's index carries over; a block of at most one item is element 0. A
 * field that is a parent of attributes (spec.boot) lands on the first of them.
 */
export function attributePathOf(b: BlockDef, field: string, nested = false): Path | undefined {
  let best: { len: number; path: Path } | undefined;
  const take = (len: number, path: Path) => {
    if (!best || len > best.len) best = { len, path };
  };
  const under = (f: string) =>
    field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`);
  for (const a of b.attributes) {
    const f = a.field ?? (nested ? a.name : undefined);
    if (f && under(f)) take(f.length, [a.name]);
  }
  for (const nb of b.blocks ?? []) {
    const f = nb.field;
    if (!f || !under(f)) continue;
    const rest = field.slice(f.length);
    const one = nb.maxItems === 1;
    const m = rest.match(/^\[(\d+)\](?:\.(.*))?$/);
    if (!one && m) {
      const sub = m[2] ? attributePathOf(nb.block, m[2], true) : undefined;
      take(f.length + 1, [nb.typeName, Number(m[1]), ...(sub ?? [])]);
    } else if (one && rest.startsWith(".")) {
      const sub = attributePathOf(nb.block, rest.slice(1), true);
      take(f.length + 1, [nb.typeName, 0, ...(sub ?? [])]);
    } else take(f.length, [nb.typeName]);
  }
  if (best) return best.path;
  const inside = b.attributes.find((a) => (a.field ?? "").startsWith(`${field}.`));
  return inside ? [inside.name] : undefined;
}

/**
 * An error as diagnostics: one per field violation, on its attribute when the schema
 * says where the field lands; otherwise one with the whole message.
 */
export function errorDiags(e: unknown, what: string, schema?: BlockDef): T.Diagnostic[] {
  if (!(e instanceof ApiError)) return [diag(what, (e as Error)?.message ?? String(e))];
  const placed = e.violations.map((v) => ({ v, path: schema && attributePathOf(schema, v.field) }));
  if (placed.length === 0 || placed.some((p) => !p.path)) {
    return [diag(what, `${Status[e.code]}: ${e.message}`)];
  }
  return placed.map(({ v, path }) =>
    e.code === Status.INVALID_ARGUMENT
      ? diag(`Invalid ${path!.join(".")}`, v.description, path)
      : diag(what, `${Status[e.code]}: ${v.description}`, path)
  );
}
