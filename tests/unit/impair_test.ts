// The link engine's impairment model under a fake clock, with fixed seeds: netem's
// semantics for delay and its distributions, loss (random and Gilbert-Elliott), duplicate,
// corrupt, reorder, rate with a bounded queue; and the switch and the stream framing.
import assert from "node:assert/strict";
import { type Impairment, NO_IMPAIRMENT } from "../../src/network/impair/config.ts";
import { Pipeline } from "../../src/network/impair/pipeline.ts";
import { delay, inverseNormal, normalCdf, Rng } from "../../src/network/impair/random.ts";
import { encodeFrames, FrameReader } from "../../src/network/frames.ts";
import { LearningSwitch } from "../../src/network/switch.ts";

const cfg = (o: Partial<Impairment>): Impairment => ({ ...NO_IMPAIRMENT, ...o });
const frame = (n: number, len = 100) => {
  const f = new Uint8Array(len);
  new DataView(f.buffer).setUint32(20, n);
  return f;
};
const seq = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(20);

/** Offers frames every `gapUs` and collects when each leaves (µs), stepping the clock by 10 µs. */
function run(p: Pipeline, n: number, gapUs: number, len = 100) {
  const out: { seq: number; at: number; frame: Uint8Array }[] = [];
  let next = 0;
  for (let now = 0, sent = 0; sent < n || p.depth > 0; now += 10) {
    while (sent < n && next <= now) {
      for (const f of p.offer(frame(sent++, len), now)) {
        out.push({ seq: seq(f), at: now, frame: f });
      }
      next += gapUs;
    }
    for (const f of p.take(now)) out.push({ seq: seq(f), at: now, frame: f });
    if (now > 1e9) throw new Error("runaway");
  }
  return out;
}

/** One-sample Kolmogorov-Smirnov statistic of xs against cdf. */
function ks(xs: number[], cdf: (x: number) => number): number {
  const s = [...xs].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs(f - (i + 1) / s.length));
  });
  return d;
}

Deno.test("rng: seeded, reproducible, uniform enough", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 20000 }, () => a.next());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b.next()));
  assert.notEqual(xs[0], c.next());
  assert.ok(ks(xs, (x) => x) < 1.63 / Math.sqrt(xs.length), "uniform at the 1% level");
});

Deno.test("normal delay: σ is the jitter (not 3σ) and the shape passes Kolmogorov-Smirnov", () => {
  const r = new Rng(7);
  const xs = Array.from({ length: 20000 }, () => delay("normal", 40_000, 10_000, r.next(), 0));
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(mean - 40_000) < 300, `mean ${mean}`);
  assert.ok(Math.abs(sd - 10_000) < 300, `sd ${sd}`);
  // 4σ above 0, so the clamp at 0 (a frame cannot leave before it came) does not show.
  const d = ks(xs, (x) => normalCdf((x - 40_000) / 10_000));
  assert.ok(d < 1.63 / Math.sqrt(xs.length), `KS D ${d} (1% critical value)`);
  assert.ok(Math.abs(inverseNormal(0.975) - 1.959964) < 1e-6);
});

Deno.test("uniform and pareto delays keep netem's spans", () => {
  const r = new Rng(9);
  const u = Array.from({ length: 5000 }, () => delay("uniform", 100, 50, r.next(), 0));
  assert.ok(Math.min(...u) >= 50 && Math.max(...u) <= 150);
  const p = Array.from({ length: 20000 }, () => delay("pareto", 1000, 100, r.next(), 0));
  const mean = p.reduce((a, b) => a + b) / p.length;
  assert.ok(Math.abs(mean - 1000) < 10, `pareto centred on its mean: ${mean}`);
  assert.ok(Math.max(...p) <= 1400 + 1e-9, "capped at 4σ like the 16-bit table");
});

Deno.test("delay: every frame leaves at its time, in order; lateness is what the clock step adds", () => {
  const p = new Pipeline(cfg({ delayUs: 20_000 }), 1);
  const out = run(p, 100, 1000);
  assert.deepEqual(out.map((o) => o.seq), [...Array(100).keys()]);
  out.forEach((o, i) => assert.ok(o.at - (i * 1000 + 20_000) < 10, `frame ${i} at ${o.at}`));
});

Deno.test("jitter alone keeps the order; reorder asked for lets netem's reordering happen", () => {
  const keep = run(new Pipeline(cfg({ delayUs: 10_000, jitterUs: 5000 }), 3), 500, 200);
  assert.deepEqual(keep.map((o) => o.seq), [...Array(500).keys()]);
  const p = new Pipeline(cfg({ delayUs: 10_000, reorder: 0.25, reorderGap: 1 }), 3);
  const re = run(p, 2000, 200);
  const ahead = re.filter((o, i) => i > 0 && o.seq < re[i - 1].seq).length;
  assert.ok(ahead > 0, "some frames arrive out of order");
  const share = p.counters.reordered / 2000;
  assert.ok(share > 0.2 && share < 0.3, `reordered ${share}`);
});

Deno.test("loss 5%: inside the exact binomial 99% interval over 2000 frames", () => {
  const p = new Pipeline(cfg({ loss: 0.05 }), 11);
  const out = run(p, 2000, 100);
  const lost = 2000 - out.length;
  // Binomial(2000, 0.05): 99% interval 76..125.
  assert.ok(lost >= 76 && lost <= 125, `lost ${lost}`);
  assert.equal(p.counters.dropLoss, lost);
});

Deno.test("seed: the same seed drops the same frames; reseed starts the sequence over", () => {
  const kept = (p: Pipeline) => run(p, 500, 100).map((o) => o.seq).join(",");
  const q = cfg({ loss: 0.2, duplicate: 0.05, delayUs: 1000, jitterUs: 500 });
  const a = kept(new Pipeline(q, 42));
  assert.equal(kept(new Pipeline(q, 42)), a);
  assert.notEqual(kept(new Pipeline(q, 43)), a);
  const p = new Pipeline(q, 7);
  kept(p); // draws from seed 7
  p.reseed(42);
  assert.equal(kept(p), a);
});

Deno.test("Gilbert-Elliott: mean burst length within 10% of 1/r", () => {
  const r = 0.25;
  const p = new Pipeline(cfg({ gilbertElliott: { p: 0.01, r, lossBad: 1, lossGood: 0 } }), 5);
  const got = new Set(run(p, 100_000, 10).map((o) => o.seq));
  const bursts: number[] = [];
  let len = 0;
  for (let i = 0; i < 100_000; i++) {
    if (!got.has(i)) len++;
    else if (len) bursts.push(len), (len = 0);
  }
  const mean = bursts.reduce((a, b) => a + b) / bursts.length;
  assert.ok(Math.abs(mean - 1 / r) / (1 / r) < 0.1, `mean burst ${mean}`);
});

Deno.test("duplicate and corrupt: counted, and a corrupted frame differs by exactly one bit", () => {
  const p = new Pipeline(cfg({ duplicate: 0.1, corrupt: 0.1, delayUs: 1 }), 13);
  const out = run(p, 2000, 100);
  assert.ok(p.counters.duplicated > 150 && p.counters.duplicated < 250);
  assert.equal(out.length, 2000 + p.counters.duplicated);
  let flipped = 0;
  for (const o of out) {
    const ref = frame(o.seq);
    let bits = 0;
    o.frame.forEach((b, i) => (bits += popcount(b ^ ref[i])));
    assert.ok(bits <= 1);
    flipped += bits;
  }
  // A flip inside the sequence number itself shows as another frame's: count those too.
  assert.ok(Math.abs(flipped - p.counters.corrupted) <= 5, `${flipped} vs ${p.counters.corrupted}`);
});

Deno.test("rate: frames leave spaced by their serialization time; the queue holds `limit` at most", () => {
  // 1 Mbit/s, 1000-byte frames (8 ms each), 20 frames at once.
  const p = new Pipeline(cfg({ rateBps: 1e6, limit: 50 }), 1);
  const out = run(p, 20, 0, 1000);
  out.forEach((o, i) => assert.ok(Math.abs(o.at - (i + 1) * 8000) <= 10, `frame ${i} at ${o.at}`));
  // A flood of 200: 50 held, 150 dropped at the queue, the last leaves after 50 frame times.
  const q = new Pipeline(cfg({ rateBps: 1e6, limit: 50, rateOverhead: 0 }), 1);
  const flood = run(q, 200, 0, 1000);
  assert.equal(flood.length, 50);
  assert.equal(q.counters.dropQueue, 150);
  assert.ok(flood[49].at <= 50 * 8000 + 10);
});

Deno.test("rate and delay together: the delay is not added twice to a queued frame", () => {
  const p = new Pipeline(cfg({ rateBps: 8e6, delayUs: 10_000 }), 1); // 1000 B = 1 ms
  const out = run(p, 5, 0, 1000);
  assert.deepEqual(out.map((o) => Math.round(o.at / 100) * 100), [
    11000,
    12000,
    13000,
    14000,
    15000,
  ]);
});

Deno.test("live change: new values apply to the next frame, held frames keep their time", () => {
  const p = new Pipeline(cfg({ delayUs: 50_000 }), 1);
  p.offer(frame(0), 0);
  p.set(cfg({ delayUs: 5000 }));
  p.offer(frame(1), 100);
  // FIFO: the second frame cannot overtake the first.
  assert.equal(p.take(49_000).length, 0);
  assert.deepEqual(p.take(50_000).map(seq), [0, 1]);
  p.set(NO_IMPAIRMENT);
  assert.ok(p.passThrough);
});

Deno.test("frames: split across chunks and joined, length prefix big-endian", () => {
  const frames = [frame(1, 60), frame(2, 1514), frame(3, 42)];
  const wire = encodeFrames(frames);
  assert.deepEqual([...wire.subarray(64, 68)], [0, 0, 0x05, 0xea]); // 1514, big-endian
  for (const cut of [1, 3, 4, 5, 64, 70, 1000, wire.length - 1]) {
    const r = new FrameReader();
    const got: number[] = [];
    r.push(wire.subarray(0, cut), (f) => got.push(seq(f)));
    r.push(wire.subarray(cut), (f) => got.push(seq(f)));
    assert.deepEqual(got, [1, 2, 3], `cut at ${cut}`);
  }
  assert.throws(
    () => new FrameReader().push(new Uint8Array([0xff, 0, 0, 0]), () => {}),
    /out of range/,
  );
});

Deno.test("switch: floods unknown and broadcast, learns, never sends back to the sender", () => {
  const sw = new LearningSwitch<string>();
  for (const p of ["a", "b", "c"]) sw.addPort(p);
  const eth = (dst: number[], src: number[]) => new Uint8Array([...dst, ...src, 8, 0, 0, 0]);
  const A = [2, 0, 0, 0, 0, 0xa], B = [2, 0, 0, 0, 0, 0xb], BC = [255, 255, 255, 255, 255, 255];
  assert.deepEqual(sw.route("a", eth(B, A), 0), ["b", "c"]);
  assert.deepEqual(sw.route("b", eth(A, B), 1), ["a"]);
  assert.deepEqual(sw.route("a", eth(B, A), 2), ["b"]);
  assert.deepEqual(sw.route("a", eth(BC, A), 3), ["b", "c"]);
  assert.deepEqual(sw.route("a", eth(A, A), 4), []);
  sw.removePort("b");
  assert.deepEqual(sw.route("a", eth(B, A), 5), ["c"]);
  assert.deepEqual(sw.route("a", new Uint8Array(10), 6), []);
});

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}
