// The link-impairment fields, once: name, unit, range, the CLI flag that sets each and
// how it is typed, and what it means. Validation, the CLI's flags, the provider's schema
// and docs/api.md's table (tasks/docs.ts) all read this table.

export type QosNumberField =
  | "latency_ms"
  | "jitter_ms"
  | "loss_percent"
  | "duplicate_percent"
  | "rate_kbps"
  | "delay_correlation_percent"
  | "loss_correlation_percent"
  | "corrupt_percent"
  | "reorder_percent"
  | "reorder_gap"
  | "rate_overhead_bytes"
  | "queue_limit"
  | "gemodel_p_percent"
  | "gemodel_r_percent"
  | "gemodel_1h_percent"
  | "gemodel_1k_percent";

export const DISTRIBUTIONS = ["uniform", "normal", "pareto", "paretonormal"] as const;

interface FieldCommon {
  unit: string;
  /** The CLI flag, and how its value is written (in tc's and containerlab's units). */
  flag: string;
  flagHelp: string;
  /** What it means, for the API docs and the provider's schema. */
  description: string;
}

export interface QosNumberDef extends FieldCommon {
  /** The LinkQos field. */
  name: QosNumberField;
  kind: "number";
  range: readonly [number, number];
  integer: boolean;
  /** The value of a link where no one set it. */
  default: number;
  flagValue: "duration" | "percent" | "rate" | "count";
}

export interface QosChoiceDef extends FieldCommon {
  name: "delay_distribution";
  kind: "choice";
  choices: readonly string[];
  default: string;
  flagValue: "choice";
}

export type QosFieldDef = QosNumberDef | QosChoiceDef;

const percent = (
  name: QosNumberField,
  flag: string,
  flagHelp: string,
  description: string,
  max = 100,
): QosNumberDef => ({
  name,
  kind: "number",
  unit: "%",
  range: [0, max],
  integer: false,
  default: 0,
  flag,
  flagValue: "percent",
  flagHelp,
  description,
});

export const QOS_FIELDS: readonly QosFieldDef[] = [
  {
    name: "latency_ms",
    kind: "number",
    unit: "ms",
    range: [0, 60_000],
    integer: true,
    default: 0,
    flag: "--latency",
    flagValue: "duration",
    flagHelp: "added delay, e.g. 40ms",
    description: "added delay of what the VM sends, in ms",
  },
  {
    name: "jitter_ms",
    kind: "number",
    unit: "ms",
    range: [0, 60_000],
    integer: true,
    default: 0,
    flag: "--jitter",
    flagValue: "duration",
    flagHelp: "delay variation, e.g. 5ms (± with uniform, σ with normal)",
    description: "delay variation in ms: each packet's delay spreads by up to ± this (uniform), " +
      "or this is the standard deviation (normal) or scale (pareto, paretonormal)",
  },
  {
    name: "delay_distribution",
    kind: "choice",
    unit: "",
    choices: DISTRIBUTIONS,
    default: "uniform",
    flag: "--distribution",
    flagValue: "choice",
    flagHelp: "how the jitter is spread: uniform, normal, pareto, paretonormal",
    description: "how delays spread around latency_ms: uniform (netem's default), normal, " +
      "pareto or paretonormal (netem's tables)",
  },
  percent(
    "delay_correlation_percent",
    "--delay-correlation",
    "how much each delay leans on the last, e.g. 25%",
    "how much each packet's jitter depends on the previous one's (netem's correlation), in percent",
  ),
  percent(
    "reorder_percent",
    "--reorder",
    "share of packets sent at once, ahead of delayed ones, e.g. 25% (needs --latency)",
    "share of packets sent without the delay, so they overtake delayed ones (netem's reorder); " +
      "needs latency_ms. Without it packets keep their order, jitter or not",
  ),
  {
    name: "reorder_gap",
    kind: "number",
    unit: "packets",
    range: [0, 1_000_000],
    integer: true,
    default: 0,
    flag: "--reorder-gap",
    flagValue: "count",
    flagHelp: "only every Nth packet may be reordered (netem's gap; 0 or 1: any)",
    description: "only one packet in this many may be reordered (netem's gap); 0 or 1: any",
  },
  percent("loss_percent", "--loss", "packet loss, e.g. 1%", "share of packets dropped, in percent"),
  percent(
    "loss_correlation_percent",
    "--loss-correlation",
    "how much each loss decision leans on the last, e.g. 25%",
    "how much each loss decision depends on the previous one (netem's correlation), in percent",
  ),
  percent(
    "gemodel_p_percent",
    "--gemodel-p",
    "Gilbert-Elliott loss: good to bad chance per packet, e.g. 1% (with --gemodel-r)",
    "Gilbert-Elliott loss model (netem's gemodel p): the chance per packet of going from the " +
      "good state to the bad one; with gemodel_r_percent, instead of loss_percent",
  ),
  percent(
    "gemodel_r_percent",
    "--gemodel-r",
    "Gilbert-Elliott loss: bad to good chance per packet, e.g. 25% (bursts of 1/r)",
    "Gilbert-Elliott (netem's r): the chance per packet of going back to the good state; " +
      "losses come in bursts of 1/r packets on average",
  ),
  {
    ...percent(
      "gemodel_1h_percent",
      "--gemodel-1h",
      "Gilbert-Elliott loss: loss in the bad state (default 100%)",
      "Gilbert-Elliott (netem's 1-h): the loss chance in the bad state, in percent",
    ),
    default: 100,
  },
  percent(
    "gemodel_1k_percent",
    "--gemodel-1k",
    "Gilbert-Elliott loss: loss in the good state (default 0%)",
    "Gilbert-Elliott (netem's 1-k): the loss chance in the good state, in percent",
  ),
  percent(
    "duplicate_percent",
    "--duplicate",
    "packet duplication, e.g. 0.5%",
    "share of packets sent twice, in percent",
    50,
  ),
  percent(
    "corrupt_percent",
    "--corrupt",
    "packet corruption (one random bit flipped), e.g. 0.1%",
    "share of packets with one random bit flipped, in percent",
  ),
  {
    name: "rate_kbps",
    kind: "number",
    unit: "kbit/s",
    range: [0, 100_000_000],
    integer: true,
    default: 0,
    flag: "--rate",
    flagValue: "rate",
    flagHelp: "rate limit, e.g. 10mbit, 512kbit (0 = unlimited)",
    description: "rate limit in kbit/s (1000 bits per second), 0: unlimited",
  },
  {
    name: "rate_overhead_bytes",
    kind: "number",
    unit: "bytes",
    range: [-64, 1000],
    integer: true,
    default: 0,
    flag: "--rate-overhead",
    flagValue: "count",
    flagHelp: "bytes added to each packet's size for the rate, e.g. 24 (may be negative)",
    description: "bytes added to each packet's length when the rate is applied " +
      "(netem's packet overhead; may be negative)",
  },
  {
    name: "queue_limit",
    kind: "number",
    unit: "packets",
    range: [0, 1_000_000],
    integer: true,
    default: 0,
    flag: "--limit",
    flagValue: "count",
    flagHelp: "packets the link holds at most; more are dropped (0: 1000, as netem)",
    description: "packets the link holds at most (delayed or waiting for the rate); more are " +
      "dropped and counted. 0: 1000, netem's default",
  },
];

export type QosField = QosFieldDef["name"];
/** Every field of a link, set: what the link engine applies and statuses report. */
export type FullQos = Record<QosNumberField, number> & { delay_distribution: string };
export const QOS_KEYS: QosField[] = QOS_FIELDS.map((f) => f.name);
export const NO_QOS: FullQos = Object.fromEntries(
  QOS_FIELDS.map((f) => [f.name, f.default]),
) as FullQos;

/** The range as docs say it: "0–60000, whole", or the choices. */
export const rangeText = (f: QosFieldDef) =>
  f.kind === "choice"
    ? f.choices.join(", ")
    : `${f.range[0]}–${f.range[1]}${f.integer ? ", whole" : ""}`;
