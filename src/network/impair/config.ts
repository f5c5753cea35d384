// One direction of a link's impairment, in the engine's own units (microseconds, bits per
// second, fractions 0..1): what the daemon sends the link engine, converted from the API's
// fields in one place (fromQos). Pure.
import type { FullQos } from "../../api/qos.ts";
import type { Distribution } from "./random.ts";

export interface GilbertElliott {
  /** Good → bad transition chance per frame. */
  p: number;
  /** Bad → good transition chance per frame (mean burst length 1/r when 1-h is 1). */
  r: number;
  /** Loss chance in the bad state (netem's 1-h). */
  lossBad: number;
  /** Loss chance in the good state (netem's 1-k). */
  lossGood: number;
}

export interface Impairment {
  delayUs: number;
  jitterUs: number;
  distribution: Distribution;
  /** netem's delay correlation, 0..1. */
  delayCorrelation: number;
  loss: number;
  lossCorrelation: number;
  /** When set, loss follows this two-state model instead of `loss`. */
  gilbertElliott?: GilbertElliott;
  duplicate: number;
  corrupt: number;
  /** One frame in `reorderGap` may skip the delay with chance `reorder` (netem's reorder). */
  reorder: number;
  reorderGap: number;
  /** Bits per second; 0 is unlimited. */
  rateBps: number;
  /** Bytes added to each frame's length when the rate is applied (may be negative). */
  rateOverhead: number;
  /** Frames a direction holds at most (delay line and rate queue together); netem's limit. */
  limit: number;
}

export const NO_IMPAIRMENT: Impairment = {
  delayUs: 0,
  jitterUs: 0,
  // netem's default: jitter spreads delays evenly over latency ± jitter.
  distribution: "uniform",
  delayCorrelation: 0,
  loss: 0,
  lossCorrelation: 0,
  duplicate: 0,
  corrupt: 0,
  reorder: 0,
  reorderGap: 0,
  rateBps: 0,
  rateOverhead: 0,
  limit: 1000,
};

/** Nothing to do but forward: the engine skips the queue for such a direction. */
export function isTransparent(i: Impairment): boolean {
  return i.delayUs === 0 && i.jitterUs === 0 && i.loss === 0 && !i.gilbertElliott &&
    i.duplicate === 0 && i.corrupt === 0 && i.rateBps === 0;
}

/** A link's API values (one direction) in the engine's units, with netem's defaults. */
export function fromQos(q: FullQos): Impairment {
  const ge = q.gemodel_p_percent > 0 || q.gemodel_r_percent > 0;
  return {
    delayUs: q.latency_ms * 1000,
    jitterUs: q.jitter_ms * 1000,
    distribution: q.delay_distribution as Distribution,
    delayCorrelation: q.delay_correlation_percent / 100,
    loss: ge ? 0 : q.loss_percent / 100,
    lossCorrelation: q.loss_correlation_percent / 100,
    gilbertElliott: ge
      ? {
        p: q.gemodel_p_percent / 100,
        r: q.gemodel_r_percent / 100,
        lossBad: q.gemodel_1h_percent / 100,
        lossGood: q.gemodel_1k_percent / 100,
      }
      : undefined,
    duplicate: q.duplicate_percent / 100,
    corrupt: q.corrupt_percent / 100,
    reorder: q.reorder_percent / 100,
    // tc sets the gap to 1 when a reorder is given without one.
    reorderGap: q.reorder_gap || 1,
    rateBps: q.rate_kbps * 1000,
    rateOverhead: q.rate_overhead_bytes,
    limit: q.queue_limit || NO_IMPAIRMENT.limit,
  };
}
