// A checkpoint holds the link engine's queues while the VMs are paused: with the clock of
// a link stopped, nothing queued leaves, and on release each frame waits what it had left.
// Real timers, so the bounds leave room for a busy machine.
import assert from "node:assert/strict";
import { type Impairment, NO_IMPAIRMENT } from "../../src/network/impair/config.ts";
import { Pipeline } from "../../src/network/impair/pipeline.ts";
import { Direction } from "../../src/engine/port.ts";
import { Engine } from "../../src/engine/engine.ts";

const cfg = (o: Partial<Impairment>): Impairment => ({ ...NO_IMPAIRMENT, ...o });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("pipeline shift: held frames leave later by the shift, in order", () => {
  const p = new Pipeline(cfg({ delayUs: 10_000 }), 1);
  p.offer(new Uint8Array(60), 0);
  p.offer(new Uint8Array(60), 1000);
  p.shift(5000);
  assert.deepEqual(p.take(14_999), []);
  assert.equal(p.take(15_000).length, 1);
  assert.equal(p.take(16_000).length, 1);
});

Deno.test("a held direction keeps its frames; released, each waits the rest of its delay", async () => {
  const out: number[] = [];
  const t0 = performance.now();
  const d = new Direction(cfg({ delayUs: 40_000 }), 1, () => out.push(performance.now()), () => {});
  d.offer(new Uint8Array(60)); // due at 40 ms
  await sleep(10);
  d.hold();
  const heldAt = performance.now();
  d.offer(new Uint8Array(60)); // arrives while held: 40 ms from the moment the clock stopped
  await sleep(80);
  assert.deepEqual(out, [], "nothing leaves while held");
  const released = performance.now();
  d.release();
  await sleep(120);
  assert.equal(out.length, 2);
  const owed = 40 - (heldAt - t0); // what the first frame had left when held
  assert.ok(out[0] - released >= owed - 2, `first left ${out[0] - released} ms after release`);
  assert.ok(out[0] - released <= owed + 25, `first left ${out[0] - released} ms after release`);
  assert.ok(out[1] - released >= 38, `second left ${out[1] - released} ms after release`);
});

Deno.test("an engine's hold ends on its own when nobody releases it", async () => {
  const e = new Engine();
  e.hold(30);
  assert.equal(e.held, true);
  await sleep(80);
  assert.equal(e.held, false);
  e.hold(10_000);
  e.release();
  assert.equal(e.held, false);
  e.close();
});
