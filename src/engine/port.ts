// One link of the engine: the connection to a VM NIC's `-netdev stream,server=on` socket
// (the engine is the client and reconnects while the link exists, so QEMU and the engine
// restart independently), and the two directions' pipelines with their timers.
import { connect, type Socket } from "node:net";
import { encodeFrames, FrameReader } from "../network/frames.ts";
import { type Impairment } from "../network/impair/config.ts";
import { Pipeline } from "../network/impair/pipeline.ts";
import type { DirectionStats, EngineLinkConfig, LinkStats } from "../network/engine_protocol.ts";
import type { Captures } from "./capture.ts";

const RETRY_MS = 100;
/** A VM that does not read is not buffered for without bound: past this, frames drop. */
const WRITE_BOUND = 1 << 20;

export const nowUs = () => performance.now() * 1000;

/** The received direction draws its own sequence from the link's seed. */
const receivedSeed = (seed: number) => (seed ^ 0x5bd1e995) >>> 0;

/** A pipeline and the one timer that releases its held frames on time. */
export class Direction {
  readonly pipe: Pipeline;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #immediate = false;
  /** While held (µs since): the link's clock stands still and nothing queued leaves. */
  #heldAt: number | undefined;

  constructor(
    cfg: Impairment,
    seed: number,
    private readonly out: (f: Uint8Array) => void,
    private readonly late: (us: number) => void,
  ) {
    this.pipe = new Pipeline(cfg, seed);
  }

  offer(frame: Uint8Array): void {
    if (this.pipe.passThrough) {
      this.out(this.pipe.offer(frame, 0)[0]);
      return;
    }
    for (const f of this.pipe.offer(frame, this.#heldAt ?? nowUs())) this.out(f);
    this.#arm();
  }

  /** Stops the link's clock: queued frames stay queued, with the wait they had left. */
  hold(): void {
    if (this.#heldAt !== undefined) return;
    this.#heldAt = nowUs();
    this.#disarm();
  }

  /** Starts the clock again where it stopped. */
  release(): void {
    if (this.#heldAt === undefined) return;
    this.pipe.shift(nowUs() - this.#heldAt);
    this.#heldAt = undefined;
    this.#arm();
  }

  flush(): number {
    this.#disarm();
    return this.pipe.flush();
  }

  stats(): DirectionStats {
    return { ...this.pipe.counters, queueDepth: this.pipe.depth };
  }

  /**
   * Timers have millisecond grain: sleep whole milliseconds short of the due time, then
   * finish on the event loop's next turns, so frames leave within tens of µs of their time.
   */
  #arm(): void {
    const due = this.pipe.due();
    if (due === undefined || this.#immediate || this.#heldAt !== undefined) return;
    const wait = Math.floor((due - nowUs()) / 1000) - 1;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wait >= 1) this.#timer = setTimeout(() => this.#fire(), wait);
    else {
      this.#immediate = true;
      setImmediate(() => this.#fire());
    }
  }

  #fire(): void {
    this.#timer = undefined;
    this.#immediate = false;
    if (this.#heldAt !== undefined) return;
    for (const f of this.pipe.take(nowUs(), this.late)) this.out(f);
    this.#arm();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

export class Port {
  cfg: EngineLinkConfig;
  readonly sent: Direction;
  readonly received: Direction;
  #sock: Socket | undefined;
  #connected = false;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    cfg: EngineLinkConfig,
    seed: number,
    /** A frame the VM sent, after its sent pipeline: into the switch. */
    toSwitch: (from: Port, f: Uint8Array) => void,
    late: (us: number) => void,
    private readonly mtu: () => number,
    private readonly captures: Captures,
  ) {
    this.cfg = cfg;
    this.sent = new Direction(cfg.sent, seed, (f) => {
      if (this.captures.state.on) this.captures.tap(this.cfg.id, "delivered", "outbound", f);
      toSwitch(this, f);
    }, late);
    this.received = new Direction(cfg.received, receivedSeed(seed), (f) => this.#write(f), late);
    this.#connect();
  }

  get connected(): boolean {
    return this.#connected;
  }

  reseed(seed: number): void {
    this.sent.pipe.reseed(seed);
    this.received.pipe.reseed(receivedSeed(seed));
  }

  /** Live: new impairment values, and the link state (down drops everything, both ways). */
  update(cfg: EngineLinkConfig): void {
    if (cfg.socket !== this.cfg.socket) throw new Error("a link's socket cannot change");
    this.cfg = cfg;
    this.sent.pipe.set(cfg.sent);
    this.received.pipe.set(cfg.received);
    if (!cfg.up) {
      this.sent.pipe.counters.dropDown += this.sent.flush();
      this.received.pipe.counters.dropDown += this.received.flush();
    }
  }

  /** A frame for this VM, from the switch. */
  deliver(frame: Uint8Array): void {
    if (this.captures.state.on) this.captures.tap(this.cfg.id, "sent", "inbound", frame);
    if (!this.cfg.up) this.received.pipe.counters.dropDown++;
    else this.received.offer(frame);
  }

  /** Holds both directions' queues (a checkpoint), or releases them. */
  hold(on: boolean): void {
    for (const d of [this.sent, this.received]) on ? d.hold() : d.release();
  }

  stats(): LinkStats {
    return { connected: this.#connected, sent: this.sent.stats(), received: this.received.stats() };
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.sent.flush();
    this.received.flush();
    this.#sock?.destroy();
  }

  #fromVm(frame: Uint8Array): void {
    if (this.captures.state.on) this.captures.tap(this.cfg.id, "sent", "outbound", frame);
    const c = this.sent.pipe.counters;
    if (!this.cfg.up) c.dropDown++;
    // An Ethernet header and a VLAN tag on top of the MTU.
    else if (frame.length > this.mtu() + 18) c.dropMtu++;
    else this.sent.offer(frame);
  }

  /**
   * Frames for the VM are gathered while the current event is handled and written in one
   * call after it: one system call for a whole burst instead of one per frame.
   */
  #write(frame: Uint8Array): void {
    const s = this.#sock;
    if (!this.#connected || !s) this.received.pipe.counters.dropDown++;
    else if (s.writableLength + this.#pendingBytes > WRITE_BOUND) {
      this.received.pipe.counters.dropQueue++;
    } else {
      if (this.captures.state.on) this.captures.tap(this.cfg.id, "delivered", "inbound", frame);
      if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
      this.#pending.push(frame);
      this.#pendingBytes += frame.length + 4;
    }
  }

  #flush(): void {
    const frames = this.#pending, s = this.#sock;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (!s || !this.#connected) return;
    s.write(encodeFrames(frames));
  }

  #connect(): void {
    if (this.#closed) return;
    const reader = new FrameReader();
    const s = connect(this.cfg.socket);
    this.#sock = s;
    s.setNoDelay?.(true);
    s.on("connect", () => (this.#connected = true));
    s.on("data", (chunk: Uint8Array) => {
      try {
        reader.push(chunk, (f) => this.#fromVm(f));
      } catch {
        s.destroy(); // out of step: reconnect and start afresh
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      this.#connected = false;
      if (this.#sock === s && !this.#closed) {
        this.#retry = setTimeout(() => this.#connect(), RETRY_MS);
      }
    });
  }
}
