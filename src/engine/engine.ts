// A network's link engine: a learning switch whose ports are the VMs' NICs, each behind
// its link's two impairment pipelines. apply() takes the whole configuration and changes
// only what differs, so the daemon can resend it at any time (after its own restart too).
import { randomInt } from "node:crypto";
import type { EngineConfig, EngineLinkConfig, EngineStats } from "../network/engine_protocol.ts";
import { LearningSwitch } from "../network/switch.ts";
import { nowUs, Port } from "./port.ts";
import { Captures } from "./capture.ts";

/** Recent lateness samples kept for the p50/p99 figure. */
const LATENESS_WINDOW = 4096;

export class Engine {
  readonly captures = new Captures();
  #ports = new Map<string, Port>();
  #switch = new LearningSwitch<Port>();
  #mtu = 1500;
  #seed = randomInt(2 ** 31);
  /** Whether the seed is the configuration's (else a fresh one of this start). */
  #given = false;
  #late = new Float64Array(LATENESS_WINDOW);
  #lateCount = 0;
  /** Ends a hold whose daemon never released it (it died mid-checkpoint). */
  #holdTimer: ReturnType<typeof setTimeout> | undefined;

  apply(cfg: EngineConfig): void {
    this.#mtu = cfg.mtu;
    // A new seed starts every link's sequence over, as if the engine had just started; a
    // seed taken away leaves a fresh one, so the sequence stops repeating at once.
    const next = cfg.seed ?? (this.#given ? randomInt(2 ** 31) : this.#seed);
    this.#given = cfg.seed !== undefined;
    if (next !== this.#seed) {
      this.#seed = next;
      for (const [id, port] of this.#ports) port.reseed(seedFor(this.#seed, id));
    }
    const wanted = new Map(cfg.links.map((l) => [l.id, l]));
    for (const [id, port] of this.#ports) {
      const next = wanted.get(id);
      if (!next || next.socket !== port.cfg.socket) this.#remove(id);
    }
    for (const [id, l] of wanted) {
      const port = this.#ports.get(id);
      if (port) port.update(l);
      else this.#add(l);
    }
  }

  /**
   * Stops every link's clock for at most `ms` (a checkpoint pauses the VMs meanwhile):
   * frames in flight neither leave early into a paused VM nor lose the wait they had left.
   */
  hold(ms: number): void {
    for (const p of this.#ports.values()) p.hold(true);
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = setTimeout(() => this.release(), ms);
  }

  release(): void {
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    for (const p of this.#ports.values()) p.hold(false);
  }

  get held(): boolean {
    return this.#holdTimer !== undefined;
  }

  stats(): EngineStats {
    const links: EngineStats["links"] = {};
    for (const [id, p] of this.#ports) links[id] = p.stats();
    const n = Math.min(this.#lateCount, LATENESS_WINDOW);
    const sorted = Array.from(this.#late.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => (n ? Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]) : 0);
    return {
      links,
      lateness: { p50: at(0.5), p99: at(0.99), samples: n },
      captureDropped: this.captures.dropped,
      rssBytes: process.memoryUsage().rss,
      pid: process.pid,
    };
  }

  /** The current links by id, for a capture (undefined for an unknown one). */
  link(id: string): { id: string; name: string } | undefined {
    const p = this.#ports.get(id);
    return p && { id, name: p.cfg.name };
  }

  close(): void {
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.captures.closeAll();
    for (const id of [...this.#ports.keys()]) this.#remove(id);
  }

  #add(l: EngineLinkConfig): void {
    const port = new Port(
      l,
      seedFor(this.#seed, l.id),
      (from, f) => this.#forward(from, f),
      (us) => (this.#late[this.#lateCount++ % LATENESS_WINDOW] = us),
      () => this.#mtu,
      this.captures,
    );
    if (this.held) port.hold(true);
    this.#ports.set(l.id, port);
    this.#switch.addPort(port);
  }

  #remove(id: string): void {
    const port = this.#ports.get(id)!;
    this.#switch.removePort(port);
    port.close();
    this.#ports.delete(id);
  }

  #forward(from: Port, frame: Uint8Array): void {
    for (const to of this.#switch.route(from, frame, nowUs())) to.deliver(frame);
  }
}

/** A link's seed from the network's and its id, so each link draws its own sequence. */
function seedFor(seed: number, id: string): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
