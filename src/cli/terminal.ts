// Guest output shown on the user's terminal must not contain terminal queries (device
// status report ESC[6n, device attributes ESC[c): a terminal answers them by typing
// into whatever reads stdin, which is not the guest when the output is a log or piped.

// CSI 5n / 6n (status, cursor position), CSI c / >c / =c (device attributes).
// deno-lint-ignore no-control-regex
const QUERY = /\x1b\[(?:[56]n|[>=]?\d*c)/g;
// deno-lint-ignore no-control-regex
const PARTIAL = /\x1b(?:\[[>=]?\d*)?$/;

export class TerminalQueryFilter {
  #carry = "";
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();

  /** The chunk without queries; a sequence split across chunks is held back. */
  push(chunk: Uint8Array): Uint8Array {
    let text = this.#carry + this.#decoder.decode(chunk, { stream: true });
    this.#carry = "";
    const partial = text.match(PARTIAL);
    if (partial) {
      this.#carry = partial[0];
      text = text.slice(0, partial.index);
    }
    return this.#encoder.encode(text.replace(QUERY, ""));
  }
}
