// Seeded randomness for link impairment, with netem's semantics: a 32-bit generator, the
// correlated uniform netem calls get_crandom, and the delay distributions its tables hold
// (normal with σ = jitter, pareto and paretonormal as iproute2 generates them). Pure: the
// same seed gives the same run, which is what a user's `seed` and the unit tests rely on.

/** xoshiro128** (Blackman and Vigna): fast, 2^128-1 period, good enough for simulation. */
export class Rng {
  #s = new Uint32Array(4);

  constructor(seed: number) {
    // splitmix32 spreads any seed, 0 included, over the four words of state.
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    if (!(this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3])) this.#s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * netem's correlated uniform (get_crandom): each value leans on the last by `rho` (0..1).
 * With rho 0 it is the generator itself.
 */
export class Correlated {
  #last = 0;
  constructor(private readonly rng: Rng, public rho = 0) {}

  next(): number {
    const u = this.rng.next();
    if (this.rho <= 0) return u;
    this.#last = u * (1 - this.rho) + this.#last * this.rho;
    return this.#last;
  }
}

export type Distribution = "uniform" | "normal" | "pareto" | "paretonormal";
export const DISTRIBUTIONS: readonly Distribution[] = [
  "uniform",
  "normal",
  "pareto",
  "paretonormal",
];

/**
 * A delay: mu ± sigma drawn from the distribution, given one (possibly correlated) uniform
 * u in [0, 1) and, for paretonormal, a second one. Uniform spans mu-sigma..mu+sigma as
 * netem's does without a table; normal has standard deviation sigma (netem's normal
 * table, not wirefilter's 3σ); pareto and paretonormal follow iproute2's table generators
 * (pareto a = 3 centred on its mean, scaled by 4/3 and capped at 4σ; paretonormal is
 * 1/4 normal + 3/4 pareto). Never negative: a frame cannot leave before it arrived.
 */
export function delay(
  dist: Distribution,
  mu: number,
  sigma: number,
  u: number,
  u2: number,
): number {
  if (sigma <= 0) return mu;
  let t: number;
  switch (dist) {
    case "uniform":
      t = 2 * u - 1;
      break;
    case "normal":
      t = inverseNormal(u);
      break;
    case "pareto":
      t = paretoTable(u);
      break;
    case "paretonormal":
      t = 0.25 * inverseNormal(u) + 0.75 * paretoTable(u2);
      break;
  }
  return Math.max(0, mu + sigma * t);
}

/** iproute2's pareto.c value for a uniform u: (x^(-1/3) - 1.5) * 4/3, x in (0, 1], ≤ 4. */
function paretoTable(u: number): number {
  const x = 1 - u; // (0, 1]
  return Math.min(4, (Math.pow(x, -1 / 3) - 1.5) * (4 / 3));
}

/**
 * The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9),
 * clamped to ±4σ as netem's 16-bit tables are.
 */
export function inverseNormal(p: number): number {
  if (p <= 3.2e-5) return -4;
  if (p >= 1 - 3.2e-5) return 4;
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -inverseNormal(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** The standard normal CDF (for tests: Kolmogorov-Smirnov against the configured shape). */
export function normalCdf(x: number): number {
  // Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7.
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 -
    (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t +
        0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}
