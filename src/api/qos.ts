// The link-impairment fields, once: name, unit, range, the CLI flag that sets each and
// how it is typed, and what it means. Validation, the CLI's flags, the provider's schema
// and docs/api.md's table (tasks/docs.ts) all read this table.

export interface QosFieldDef {
  /** The LinkQos field. */
  name: "latency_ms" | "jitter_ms" | "loss_percent" | "duplicate_percent" | "rate_kbps";
  unit: string;
  range: readonly [number, number];
  integer: boolean;
  /** The CLI flag, and how its value is written (in tc's and containerlab's units). */
  flag: string;
  flagValue: "duration" | "percent" | "rate";
  flagHelp: string;
  /** What it means, for the API docs and the provider's schema. */
  description: string;
}

export const QOS_FIELDS: readonly QosFieldDef[] = [
  {
    name: "latency_ms",
    unit: "ms",
    range: [0, 60_000],
    integer: true,
    flag: "--latency",
    flagValue: "duration",
    flagHelp: "added delay, e.g. 40ms",
    description: "added delay of what the VM sends, in ms",
  },
  {
    name: "jitter_ms",
    unit: "ms",
    range: [0, 60_000],
    integer: true,
    flag: "--jitter",
    flagValue: "duration",
    flagHelp: "delay variation (±), e.g. 5ms",
    description: "each packet's delay varies by up to ± this, in ms",
  },
  {
    name: "loss_percent",
    unit: "%",
    range: [0, 100],
    integer: false,
    flag: "--loss",
    flagValue: "percent",
    flagHelp: "packet loss, e.g. 1%",
    description: "share of packets dropped, in percent",
  },
  {
    name: "duplicate_percent",
    unit: "%",
    // wirefilter resends a duplicated packet with the same chance again: keep it finite.
    range: [0, 50],
    integer: false,
    flag: "--duplicate",
    flagValue: "percent",
    flagHelp: "packet duplication, e.g. 0.5%",
    description: "share of packets sent twice, in percent",
  },
  {
    name: "rate_kbps",
    unit: "kbit/s",
    range: [0, 100_000_000],
    integer: true,
    flag: "--rate",
    flagValue: "rate",
    flagHelp: "rate limit, e.g. 10mbit, 512kbit (0 = unlimited)",
    description: "rate limit in kbit/s (1000 bits per second), 0: unlimited",
  },
];

export type QosField = QosFieldDef["name"];
export type FullQos = Record<QosField, number>;
export const QOS_KEYS: QosField[] = QOS_FIELDS.map((f) => f.name);
export const NO_QOS: FullQos = Object.fromEntries(QOS_KEYS.map((k) => [k, 0])) as FullQos;

/** The range as docs say it: "0–60000, whole". */
export const rangeText = (f: QosFieldDef) =>
  `${f.range[0]}–${f.range[1]}${f.integer ? ", whole" : ""}`;
