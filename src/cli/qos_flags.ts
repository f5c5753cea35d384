// Link impairment as people type it, in the units of tc and containerlab: delays in ms
// (40ms, 1.5s, 2000us: whole milliseconds), loss as a percentage (1%, 0.5), rates as tc writes them
// (10mbit, 512kbit, 1gbit; kbps is kilobytes per second, as in tc; a bare number is
// kbit/s, as containerlab's --rate).
import type * as T from "../api/gen/infrasim.v1.ts";
import { type ApiError, Violations } from "../api/errors.ts";
import { QOS_FIELDS } from "../api/qos.ts";
import { normalizeLinkQos } from "../api/validate/network.ts";
import { type FlagFields, renameFields, UsageError } from "./flags.ts";

/** Each impairment flag's text as typed, by the flag's option name (commander's camelCase). */
export type QosFlags = Record<string, string | undefined>;

/** commander's key for a flag: --reorder-gap -> reorderGap, --gemodel-1h -> gemodel1h. */
const flagKey = (flag: string) =>
  flag.slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const quoteArg = (v: string) => JSON.stringify(v.slice(0, 30));

export function parseDurationMs(flag: string, v: string): number {
  const m = v.trim().match(/^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?$/i);
  if (!m) throw new UsageError(`${flag}: ${quoteArg(v)} is not a duration such as 40ms or 1.5s`);
  const scale = { us: 0.001, "µs": 0.001, ms: 1, s: 1000 }[(m[2] ?? "ms").toLowerCase()]!;
  const ms = Number(m[1]) * scale;
  if (Math.abs(ms - Math.round(ms)) > 1e-9) {
    throw new UsageError(`${flag}: ${quoteArg(v)} is not a whole number of milliseconds`);
  }
  return Math.round(ms);
}

export function parsePercent(flag: string, v: string): number {
  const m = v.trim().match(/^(\d+(?:\.\d+)?)\s*%?$/);
  if (!m) throw new UsageError(`${flag}: ${quoteArg(v)} is not a percentage such as 1% or 0.5`);
  return Number(m[1]);
}

const RATE_UNITS: Record<string, number> = {
  bit: 0.001,
  kbit: 1,
  mbit: 1000,
  gbit: 1_000_000,
  kibit: 1.024,
  mibit: 1048.576,
  gibit: 1073741.824,
  bps: 0.008,
  kbps: 8,
  mbps: 8000,
  gbps: 8_000_000,
};

/** A rate in kbit/s (1000 bits), whole. */
export function parseRateKbps(flag: string, v: string): number {
  const m = v.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*([a-z]*)$/);
  const unit = m ? (m[2] || "kbit") : "";
  if (!m || !(unit in RATE_UNITS)) {
    throw new UsageError(`${flag}: ${quoteArg(v)} is not a rate such as 10mbit, 512kbit or 1000`);
  }
  const kbps = Math.round(Number(m[1]) * RATE_UNITS[unit]);
  if (kbps === 0 && Number(m[1]) > 0) throw new UsageError(`${flag}: the lowest rate is 1kbit`);
  return kbps;
}

/** A whole number, negative too (a rate's per-packet overhead may be). */
export function parseCount(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v.trim())) {
    throw new UsageError(`${flag}: ${quoteArg(v)} is not a whole number`);
  }
  return Number(v.trim());
}

const PARSE = {
  duration: parseDurationMs,
  percent: parsePercent,
  rate: parseRateKbps,
  count: parseCount,
  choice: (_flag: string, v: string) => v.trim().toLowerCase(),
} as const;
const ARG = {
  duration: "<time>",
  percent: "<percent>",
  rate: "<rate>",
  count: "<n>",
  choice: "<name>",
} as const;

/** Adds one option per impairment field (the table in api/qos.ts) to a command. */
export function qosOptions<C extends { option(flags: string, description: string): unknown }>(
  cmd: C,
): C {
  for (const f of QOS_FIELDS) cmd.option(`${f.flag} ${ARG[f.flagValue]}`, f.flagHelp);
  return cmd;
}

/** Which flag sets which field of a LinkQos under `prefix` (e.g. spec.link_qos). */
export const qosFlagFields = (prefix: string): FlagFields =>
  Object.fromEntries(QOS_FIELDS.map((f) => [`${prefix}.${f.name}`, f.flag]));

/**
 * The given flags as a LinkQos (unset ones absent), range-checked; every flag that does
 * not parse or is out of range is a usage error naming that flag.
 */
export function qosFromFlags(o: QosFlags): T.LinkQos {
  const q: T.LinkQos = {};
  const vs = new Violations();
  for (const f of QOS_FIELDS) {
    const text = o[flagKey(f.flag)];
    if (text === undefined) continue;
    try {
      (q as Record<string, unknown>)[f.name] = PARSE[f.flagValue](f.flag, text);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      vs.add(f.flag, e.message.slice(f.flag.length + 2));
    }
  }
  const out = vs.check(() => normalizeLinkQos(q, "qos"), {});
  try {
    vs.done();
  } catch (e) {
    const named = renameFields(e, qosFlagFields("qos")) as ApiError;
    const msg = named.violations.map((v) => `${v.field}: ${v.description}`).join("; ");
    throw new UsageError(msg, undefined, named);
  }
  return out;
}

/** A LinkQos for people: only what impairs, "-" for a clean link (tc's words). */
export function formatQos(q: T.LinkQos | null | undefined): string {
  if (!q) return "-";
  const parts: string[] = [];
  const pct = (v: number | null | undefined) => (v ? ` ${v}%` : "");
  if (q.latency_ms) parts.push(`latency ${q.latency_ms}ms`);
  if (q.jitter_ms) {
    const dist = q.delay_distribution && q.delay_distribution !== "uniform"
      ? ` ${q.delay_distribution}`
      : "";
    parts.push(`jitter ${q.jitter_ms}ms${pct(q.delay_correlation_percent)}${dist}`);
  }
  if (q.reorder_percent) {
    parts.push(`reorder ${q.reorder_percent}%${q.reorder_gap ? ` gap ${q.reorder_gap}` : ""}`);
  }
  if (q.gemodel_p_percent) {
    parts.push(
      `loss gemodel ${q.gemodel_p_percent}% ${q.gemodel_r_percent ?? 0}%` +
        (q.gemodel_1h_percent !== undefined && q.gemodel_1h_percent !== null
          ? ` ${q.gemodel_1h_percent}% ${q.gemodel_1k_percent ?? 0}%`
          : ""),
    );
  } else if (q.loss_percent) {
    parts.push(`loss ${q.loss_percent}%${pct(q.loss_correlation_percent)}`);
  }
  if (q.duplicate_percent) parts.push(`duplicate ${q.duplicate_percent}%`);
  if (q.corrupt_percent) parts.push(`corrupt ${q.corrupt_percent}%`);
  if (q.queue_limit) parts.push(`limit ${q.queue_limit}`);
  if (q.rate_kbps) {
    const r = q.rate_kbps;
    const unit = r % 1_000_000 === 0
      ? `${r / 1_000_000}gbit`
      : r % 1000 === 0
      ? `${r / 1000}mbit`
      : `${r}kbit`;
    parts.push(`rate ${unit}`);
  }
  return parts.join(", ") || "-";
}
