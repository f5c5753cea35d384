// One direction of one link: netem's enqueue decisions (duplicate, loss, corrupt, queue
// limit, delay with jitter, rate, reorder) and a queue ordered by departure time. Pure and
// clock-injected: the caller passes `now` (µs) to offer() and take(), and arms one timer
// for due(). The forwarding loop lives elsewhere (the engine), so this runs the same
// under a fake clock in the unit tests.
import { type Impairment, isTransparent } from "./config.ts";
import { Correlated, delay, Rng } from "./random.ts";

export interface DirectionCounters {
  frames: number;
  bytes: number;
  dropLoss: number;
  dropQueue: number;
  dropDown: number;
  dropMtu: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
}

export const zeroCounters = (): DirectionCounters => ({
  frames: 0,
  bytes: 0,
  dropLoss: 0,
  dropQueue: 0,
  dropDown: 0,
  dropMtu: 0,
  duplicated: 0,
  corrupted: 0,
  reordered: 0,
});

interface Held {
  frame: Uint8Array;
  at: number;
}

export class Pipeline {
  readonly counters = zeroCounters();
  #cfg!: Impairment;
  #transparent = true;
  #rng: Rng;
  #delayU!: Correlated;
  #lossU!: Correlated;
  #geBad = false;
  #reorderCount = 0;
  /** Held frames by departure time; `#head` skips the ones already taken. */
  #q: Held[] = [];
  #head = 0;

  constructor(cfg: Impairment, seed: number) {
    this.#rng = new Rng(seed);
    this.set(cfg);
  }

  /** Starts the random sequence over from a seed; held frames keep their times. */
  reseed(seed: number): void {
    this.#rng = new Rng(seed);
    this.#geBad = false;
    this.#reorderCount = 0;
    this.set(this.#cfg);
  }

  /** New values take effect for the next frame; frames already held keep their times. */
  set(cfg: Impairment): void {
    this.#cfg = cfg;
    this.#transparent = isTransparent(cfg);
    this.#delayU = new Correlated(this.#rng, cfg.delayCorrelation);
    this.#lossU = new Correlated(this.#rng, cfg.lossCorrelation);
    if (!cfg.gilbertElliott) this.#geBad = false;
  }

  get config(): Impairment {
    return this.#cfg;
  }

  get depth(): number {
    return this.#q.length - this.#head;
  }

  /** True when nothing is held and frames may pass straight through (the fast path). */
  get passThrough(): boolean {
    return this.#transparent && this.depth === 0;
  }

  /**
   * A frame arrives. Returns the frames to send right away (the fast path, or a reordered
   * frame sent ahead of the queue); the others wait in the queue for take().
   */
  offer(frame: Uint8Array, now: number): Uint8Array[] {
    if (this.passThrough) return this.#count([frame]);
    const c = this.#cfg;
    let copies = 1;
    if (c.duplicate > 0 && this.#rng.next() < c.duplicate) copies++;
    if (this.#lost()) copies--;
    if (copies === 0) {
      this.counters.dropLoss++;
      return [];
    }
    const out: Uint8Array[] = [];
    if (copies === 2) {
      // netem sends the copy through the qdisc again, duplication off: it meets loss anew.
      this.counters.duplicated++;
      if (!this.#lost()) out.push(...this.#hold(frame, now));
      else this.counters.dropLoss++;
    }
    if (c.corrupt > 0 && this.#rng.next() < c.corrupt && frame.length > 0) {
      frame = frame.slice();
      frame[this.#rng.u32() % frame.length] ^= 1 << (this.#rng.u32() % 8);
      this.counters.corrupted++;
    }
    out.push(...this.#hold(frame, now));
    return this.#count(out);
  }

  /** When the first held frame is due (µs), or undefined when none is held. */
  due(): number | undefined {
    return this.depth ? this.#q[this.#head].at : undefined;
  }

  /** The frames due at `now`, in order, with how late each is (µs) for the lateness figure. */
  take(now: number, late?: (us: number) => void): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.depth && this.#q[this.#head].at <= now) {
      const h = this.#q[this.#head++];
      late?.(now - h.at);
      out.push(h.frame);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#q.length) {
      this.#q = this.#q.slice(this.#head);
      this.#head = 0;
    }
    return this.#count(out);
  }

  /**
   * Moves every held frame's departure later by `us`: time that did not pass for the link
   * (a hold while the VMs were paused), so each frame still waits what it had left.
   */
  shift(us: number): void {
    for (let i = this.#head; i < this.#q.length; i++) this.#q[i].at += us;
  }

  /** Drops whatever is held (the link went down, or was removed); returns how many. */
  flush(): number {
    const n = this.depth;
    this.#q = [];
    this.#head = 0;
    return n;
  }

  #count(frames: Uint8Array[]): Uint8Array[] {
    for (const f of frames) {
      this.counters.frames++;
      this.counters.bytes += f.length;
    }
    return frames;
  }

  #lost(): boolean {
    const c = this.#cfg;
    const ge = c.gilbertElliott;
    if (ge) {
      // netem's loss_gilb_ell: move, then lose with the new state's chance.
      if (!this.#geBad) {
        if (this.#rng.next() < ge.p) this.#geBad = true;
      } else if (this.#rng.next() < ge.r) this.#geBad = false;
      return this.#rng.next() < (this.#geBad ? ge.lossBad : ge.lossGood);
    }
    return c.loss > 0 && this.#lossU.next() < c.loss;
  }

  /** Queues a frame at its departure time; returns it when netem's reorder sends it now. */
  #hold(frame: Uint8Array, now: number): Uint8Array[] {
    const c = this.#cfg;
    if (this.depth >= c.limit) {
      this.counters.dropQueue++;
      return [];
    }
    if (
      c.reorder > 0 && c.reorderGap > 0 && this.#reorderCount >= c.reorderGap - 1 &&
      this.#rng.next() < c.reorder
    ) {
      this.#reorderCount = 0;
      this.counters.reordered++;
      return [frame];
    }
    this.#reorderCount++;
    let d = c.jitterUs > 0
      ? delay(c.distribution, c.delayUs, c.jitterUs, this.#delayU.next(), this.#rng.next())
      : c.delayUs;
    let start = now;
    const last = this.depth ? this.#q[this.#q.length - 1].at : undefined;
    if (c.rateBps > 0) {
      // netem: the last held frame is the reference; its wait counts against this delay.
      if (last !== undefined && last > now) {
        d = Math.max(0, d - (last - now));
        start = last;
      }
      d += (Math.max(1, frame.length + c.rateOverhead) * 8 * 1e6) / c.rateBps;
    }
    const at = start + d;
    // Without reorder asked for, frames keep their order (jitter alone does not reorder);
    // with it, the queue is ordered by time as netem's tfifo is.
    if (c.reorder > 0) this.#insertByTime({ frame, at });
    else this.#q.push({ frame, at: last !== undefined ? Math.max(at, last) : at });
    return [];
  }

  #insertByTime(h: Held): void {
    let lo = this.#head, hi = this.#q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#q[mid].at <= h.at) lo = mid + 1;
      else hi = mid;
    }
    this.#q.splice(lo, 0, h);
  }
}
