// Link impairment as people type it, in the units of tc and containerlab: delays in ms
// (40ms, 1.5s, 2000us: whole milliseconds), loss as a percentage (1%, 0.5), rates as tc writes them
// (10mbit, 512kbit, 1gbit; kbps is kilobytes per second, as in tc; a bare number is
// kbit/s, as containerlab's --rate).
import type * as T from "../api/gen/infrasim.v1.ts";
import { normalizeLinkQos } from "../api/validate/network.ts";
import { UsageError } from "./flags.ts";

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

/** The given flags as a LinkQos (unset ones absent), range-checked, named as flags. */
export function qosFromFlags(o: QosFlags): T.LinkQos {
  const q: T.LinkQos = {};
  if (o.latency !== undefined) q.latency_ms = parseDurationMs("--latency", o.latency);
  if (o.jitter !== undefined) q.jitter_ms = parseDurationMs("--jitter", o.jitter);
  if (o.loss !== undefined) q.loss_percent = parsePercent("--loss", o.loss);
  if (o.duplicate !== undefined) q.duplicate_percent = parsePercent("--duplicate", o.duplicate);
  if (o.rate !== undefined) q.rate_kbps = parseRateKbps("--rate", o.rate);
  try {
    return normalizeLinkQos(q, "qos");
  } catch (e) {
    const msg = (e as Error).message;
    const field = msg.match(/^qos\.(\w+):/)?.[1] as keyof typeof FLAG | undefined;
    throw new UsageError(field ? msg.replace(/^qos\.\w+:/, `${FLAG[field]}:`) : msg);
  }
}

const FLAG = {
  latency_ms: "--latency",
  jitter_ms: "--jitter",
  loss_percent: "--loss",
  duplicate_percent: "--duplicate",
  rate_kbps: "--rate",
} as const;

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
