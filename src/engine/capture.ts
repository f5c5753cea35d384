// Packet capture on the engine's links: each capture is a control connection turned into
// a pcapng stream, with one interface per link and point (sent: as the sender sent it,
// before the link's impairment; delivered: after it, as it left the link). Frames are
// copied only while a capture runs, and a reader that falls behind loses frames (counted)
// instead of slowing the link.
import type { Socket } from "node:net";
import {
  type Direction,
  enhancedPacket,
  interfaceDescription,
  sectionHeader,
} from "../network/pcapng.ts";
import type { CapturePoint } from "../network/engine_protocol.ts";

/** Bytes a capture may have waiting for its reader before frames are dropped. */
const BACKLOG = 8 << 20;

export interface CaptureTarget {
  id: string;
  name: string;
}

class Session {
  readonly ifaces = new Map<string, number>();
  captured = 0;
  dropped = 0;
  /** Blocks of the current event, written in one call after it. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;

  constructor(
    readonly conn: Socket,
    readonly count: number,
    readonly snaplen: number,
  ) {}
}

export class Captures {
  #sessions = new Set<Session>();
  /** Frames captures lost to readers that fell behind, since the engine started. */
  dropped = 0;
  /** Read on every frame by the ports: false costs one property read. */
  readonly state = { on: false };

  open(
    conn: Socket,
    links: CaptureTarget[],
    points: CapturePoint[],
    count: number,
    snaplen: number,
  ): void {
    const s = new Session(conn, count, snaplen);
    const blocks = [sectionHeader("infrasim link engine")];
    for (const l of links) {
      for (const p of points) {
        s.ifaces.set(`${l.id}|${p}`, s.ifaces.size);
        const what = p === "sent"
          ? "as sent, before the link's impairment"
          : "as delivered, after it";
        blocks.push(interfaceDescription(`${l.name}:${p}`, `frames of ${l.name} ${what}`, snaplen));
      }
    }
    conn.write(concat(blocks));
    this.#sessions.add(s);
    this.state.on = true;
    conn.on("close", () => this.#close(s));
  }

  /** A frame seen on a link at a point, going out of (sent by) or into its VM. */
  tap(linkId: string, point: CapturePoint, dir: Direction, frame: Uint8Array): void {
    const ts = (performance.timeOrigin + performance.now()) * 1000;
    for (const s of this.#sessions) {
      const iface = s.ifaces.get(`${linkId}|${point}`);
      if (iface === undefined) continue;
      if (s.conn.writableLength + s.pendingBytes > BACKLOG) {
        s.dropped++;
        this.dropped++;
        continue;
      }
      const block = enhancedPacket(iface, ts, frame, s.snaplen, dir);
      if (s.pending.length === 0) queueMicrotask(() => this.#flush(s));
      s.pending.push(block);
      s.pendingBytes += block.length;
      if (++s.captured === s.count) this.#close(s);
    }
  }

  closeAll(): void {
    for (const s of this.#sessions) s.conn.destroy();
  }

  #flush(s: Session): void {
    const blocks = s.pending;
    s.pending = [];
    s.pendingBytes = 0;
    if (blocks.length && !s.conn.destroyed) s.conn.write(concat(blocks));
    if (!this.#sessions.has(s)) s.conn.end(); // the count was reached
  }

  #close(s: Session): void {
    if (!this.#sessions.delete(s)) return;
    this.state.on = this.#sessions.size > 0;
    if (s.pending.length === 0) s.conn.end();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}
