// Link impairment as people type it, in the units of tc and containerlab: delays in ms
// (40ms, 1.5s, 2000us: whole milliseconds), loss as a percentage (1%, 0.5), rates as tc writes them
// (10mbit, 512kbit, 1gbit; kbps is kilobytes per second, as in tc; a bare number is
// kbit/s, as containerlab's --rate).
import type * as T from "../api/gen/infrasim.v1.ts";
import { type ApiError, Violations } from "../api/errors.ts";
import { QOS_FIELDS } from "../api/qos.ts";
import { normalizeLinkQos } from "../api/validate/network.ts";
import { type FlagFields, renameFields, UsageError } from "./flags.ts";

export interface QosFlags {
  latency?: string;
  jitter?: string;
  loss?: string;
  duplicate?: string;
  rate?: string;
}

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

const PARSE = { duration: parseDurationMs, percent: parsePercent, rate: parseRateKbps } as const;
const ARG = { duration: "<time>", percent: "<percent>", rate: "<rate>" } as const;

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
    const text = o[f.flag.slice(2) as keyof QosFlags];
    if (text === undefined) continue;
    try {
      q[f.name] = PARSE[f.flagValue](f.flag, text);
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

/** A LinkQos for people: only what impairs, "-" for a clean link. */
export function formatQos(q: T.LinkQos | null | undefined): string {
  if (!q) return "-";
  const parts: string[] = [];
  if (q.latency_ms) parts.push(`latency ${q.latency_ms}ms`);
  if (q.jitter_ms) parts.push(`jitter ${q.jitter_ms}ms`);
  if (q.loss_percent) parts.push(`loss ${q.loss_percent}%`);
  if (q.duplicate_percent) parts.push(`duplicate ${q.duplicate_percent}%`);
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
