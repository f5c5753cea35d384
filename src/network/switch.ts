// A learning Ethernet switch's forwarding decision, per network: learn each source MAC's
// port, send a known unicast to its port, flood broadcast, multicast and unknown unicast to
// every other port. Pure; ports are the engine's link ids.

/** Entries unheard of for this long are forgotten (the usual bridge ageing time, 300 s). */
const AGEING_US = 300e6;

const macKey = (f: Uint8Array, at: number) =>
  f[at] * 2 ** 40 + f[at + 1] * 2 ** 32 + f[at + 2] * 2 ** 24 + f[at + 3] * 2 ** 16 +
  f[at + 4] * 2 ** 8 + f[at + 5];

export class LearningSwitch<P> {
  #table = new Map<number, { port: P; seen: number }>();
  #ports = new Set<P>();

  addPort(p: P): void {
    this.#ports.add(p);
  }

  /** A port that goes forgets what was learned on it, so its MACs flood until relearned. */
  removePort(p: P): void {
    this.#ports.delete(p);
    for (const [mac, e] of this.#table) if (e.port === p) this.#table.delete(mac);
  }

  /** Where a frame that came in on `from` goes. A frame too short for a header goes nowhere. */
  route(from: P, frame: Uint8Array, now: number): P[] {
    if (frame.length < 14) return [];
    const src = macKey(frame, 6);
    // A multicast source is invalid; never learn it.
    if (!(frame[6] & 1)) this.#table.set(src, { port: from, seen: now });
    if (!(frame[0] & 1)) {
      const e = this.#table.get(macKey(frame, 0));
      if (e && now - e.seen < AGEING_US && this.#ports.has(e.port)) {
        return e.port === from ? [] : [e.port];
      }
    }
    const out: P[] = [];
    for (const p of this.#ports) if (p !== from) out.push(p);
    return out;
  }
}
