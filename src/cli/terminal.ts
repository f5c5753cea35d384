// Guest output shown on the user's terminal must not contain terminal queries (device
// status report ESC[6n, device attributes ESC[c): a terminal answers them by typing
// into whatever reads stdin, which is not the guest when the output is a log or piped.
// Works on bytes: a serial log is raw bytes (firmware writes CP437, not UTF-8), and
// everything but the queries passes through unchanged.

const ESC = 0x1b;
/** Longer is not a query: a run of digits that long is not held back for ever. */
const MAX_QUERY = 32;
const EMPTY = new Uint8Array(0);

const isParam = (x: number) => (x >= 0x30 && x <= 0x39) || x === 0x3b; // 0-9 ;

/**
 * The length of the terminal query starting at b[i] (an ESC): CSI [?] Ps n (device
 * status reports) or CSI [>|=] Ps c (device attributes). 0: not a query; -1: the bytes
 * end before it can be told.
 */
export function queryLength(b: Uint8Array, i: number): number {
  let j = i + 1;
  if (j >= b.length) return -1;
  if (b[j++] !== 0x5b) return 0; // [
  const prefix = j < b.length && (b[j] === 0x3f || b[j] === 0x3e || b[j] === 0x3d) ? b[j++] : 0;
  while (j < b.length && isParam(b[j]) && j - i < MAX_QUERY) j++;
  if (j - i >= MAX_QUERY) return 0;
  if (j >= b.length) return -1;
  const final = b[j];
  const dsr = final === 0x6e && (prefix === 0 || prefix === 0x3f); // n, ?n
  const da = final === 0x63 && prefix !== 0x3f; // c, >c, =c (CSI ? Ps c sets the cursor)
  return dsr || da ? j + 1 - i : 0;
}

export class TerminalQueryFilter {
  #carry: Uint8Array = EMPTY;

  /** The chunk without queries; a sequence split across chunks is held back. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#carry.length === 0 && chunk.indexOf(ESC) < 0) return chunk;
    const b = new Uint8Array(this.#carry.length + chunk.length);
    b.set(this.#carry);
    b.set(chunk, this.#carry.length);
    this.#carry = EMPTY;
    const out = new Uint8Array(b.length);
    let o = 0;
    for (let i = 0; i < b.length;) {
      if (b[i] !== ESC) {
        out[o++] = b[i++];
        continue;
      }
      const n = queryLength(b, i);
      if (n < 0) {
        this.#carry = b.slice(i);
        break;
      }
      if (n > 0) i += n;
      else out[o++] = b[i++];
    }
    return out.subarray(0, o);
  }

  /** At the end of the output: what was held back, which turned out to be no query. */
  flush(): Uint8Array {
    const rest = this.#carry;
    this.#carry = EMPTY;
    return rest;
  }
}
