// The `timeouts` block every resource can have, and durations like "10m" or "1h30m".
import type * as P from "../../api/gen/tfplugin6.ts";
import { diag } from "./diagnostics.ts";
import type { CtyValue } from "./cty.ts";
import type { NestedBlockDef } from "./schema.ts";

export type Operation = "create" | "update" | "delete";
const OPERATIONS: Operation[] = ["create", "update", "delete"];
const DEFAULT_SECONDS = 600;
/** Past this, gRPC deadlines overflow; no operation here takes a day. */
const MAX_SECONDS = 86400;

export const TIMEOUTS_BLOCK: NestedBlockDef = {
  typeName: "timeouts",
  nesting: "SINGLE",
  block: {
    attributes: OPERATIONS.map((name) => ({
      name,
      type: "string",
      optional: true,
      description: `How long ${name} may take, e.g. "10m" (default 10m).`,
    })),
  },
};

/** "10m", "90s", "1h30m" -> seconds; null -> fallback. */
export function parseTimeout(v: CtyValue, fallback: number): number {
  if (typeof v !== "string" || v === "") return fallback;
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let total = 0, consumed = 0, m: RegExpExecArray | null;
  while ((m = re.exec(v))) {
    total += Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
    consumed += m[0].length;
  }
  if (consumed !== v.length || total <= 0) throw new Error(`bad duration ${JSON.stringify(v)}`);
  if (total > MAX_SECONDS) throw new Error(`${JSON.stringify(v)} is longer than 24h`);
  return total;
}

/** The seconds an operation may take, from an object's timeouts block. */
export function timeoutSeconds(o: Record<string, CtyValue> | null, which: Operation): number {
  const t = (o?.timeouts ?? null) as Record<string, CtyValue> | null;
  return parseTimeout(t?.[which] ?? null, DEFAULT_SECONDS);
}

/** Diagnostics for durations that do not parse, at timeouts.<operation>. */
export function validateTimeouts(config: Record<string, CtyValue>): P.Diagnostic[] {
  const t = config.timeouts as Record<string, CtyValue> | null;
  const out: P.Diagnostic[] = [];
  for (const which of OPERATIONS) {
    const v = t?.[which] ?? null;
    if (typeof v !== "string") continue;
    try {
      parseTimeout(v, 0);
    } catch (e) {
      out.push(
        diag(
          "Invalid duration",
          `${(e as Error).message}; use e.g. "90s", "10m" or "1h" (at most 24h)`,
          [
            "timeouts",
            which,
          ],
        ),
      );
    }
  }
  return out;
}
