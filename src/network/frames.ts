// QEMU's `-netdev stream` framing: each Ethernet frame goes as a 4-byte big-endian length
// and the frame. A reader gets arbitrary chunks; FrameReader splits them without copying
// when a frame lies inside one chunk. Pure.

/** Longest frame accepted: a 64 KiB jumbo with headroom; anything longer is a broken stream. */
export const MAX_FRAME = 65_550;

export class FrameReader {
  #pending: Uint8Array | undefined;

  /**
   * Feeds a chunk; calls onFrame for each whole frame (a view into the chunk where it can).
   * Throws on a length no Ethernet frame has: the stream is out of step and must be closed.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let buf = chunk;
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.length + chunk.length);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.length);
      buf = joined;
      this.#pending = undefined;
    }
    let off = 0;
    while (buf.length - off >= 4) {
      const len = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>>
        0;
      if (len > MAX_FRAME) throw new Error(`frame length ${len} is out of range`);
      if (buf.length - off - 4 < len) break;
      onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length) this.#pending = buf.slice(off);
  }
}

/** Frames, each with its length prefix, in one buffer. */
export function encodeFrames(frames: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += f.length + 4;
  const out = new Uint8Array(total);
  let o = 0;
  for (const f of frames) {
    const n = f.length;
    out[o] = n >>> 24;
    out[o + 1] = (n >>> 16) & 0xff;
    out[o + 2] = (n >>> 8) & 0xff;
    out[o + 3] = n & 0xff;
    out.set(f, o + 4);
    o += n + 4;
  }
  return out;
}
