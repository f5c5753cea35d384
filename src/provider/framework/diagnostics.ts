// Terraform diagnostics, and the mapping from API field paths in error messages
// ("spec.memory_mb: must be ...") to attribute paths Terraform can underline.
import type * as T from "../../api/gen/tfplugin6.ts";
import { ApiError, Status } from "../../api/errors.ts";

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

/** API field pattern -> resource attribute path; the first match wins. */
export type FieldMap = Array<[RegExp, (m: RegExpMatchArray) => Path]>;

/** Turns an error into one diagnostic, pointing at the attribute when the field is known. */
export function errorDiag(e: unknown, what: string, fields: FieldMap = []): T.Diagnostic {
  if (!(e instanceof ApiError)) return diag(what, (e as Error)?.message ?? String(e));
  const m = e.message.match(/^(.+?): (.*)$/s);
  if (m && (e.code === Status.INVALID_ARGUMENT || e.code === Status.ALREADY_EXISTS)) {
    for (const [re, toPath] of fields) {
      const hit = m[1].match(re);
      if (hit) return diag(`Invalid ${toPath(hit).join(".")}`, m[2], toPath(hit));
    }
  }
  return diag(what, `${Status[e.code]}: ${e.message}`);
}
