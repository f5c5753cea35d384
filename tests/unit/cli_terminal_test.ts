// The filter that keeps the guest's terminal queries away from the user's terminal in
// `vm logs` and a piped `vm console`: queries go, everything else passes byte for byte,
// a query split across chunks is still caught.
import assert from "node:assert/strict";
import { queryLength, TerminalQueryFilter } from "../../src/cli/terminal.ts";

const enc = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const dec = (b: Uint8Array) => String.fromCharCode(...b);

/** The filter's whole output for the input cut into the given chunks. */
function filtered(chunks: string[] | Uint8Array[]): string {
  const f = new TerminalQueryFilter();
  let out = "";
  for (const c of chunks) out += dec(f.push(typeof c === "string" ? enc(c) : c));
  return out + dec(f.flush());
}

const QUERIES = [
  "\x1b[6n", // cursor position report
  "\x1b[5n", // status report
  "\x1b[?6n", // DEC cursor position report
  "\x1b[c", // primary device attributes
  "\x1b[0c",
  "\x1b[>c", // secondary
  "\x1b[>0c",
  "\x1b[=c", // tertiary
];

const KEPT = [
  "\x1b[31mred\x1b[0m",
  "\x1b[2J\x1b[H",
  "\x1b[?25h",
  "\x1b[?6c", // Linux console cursor shape: not a query
  "\x1b[1;24r",
  "\x1bc", // RIS: not CSI
  "\x1b]0;title\x07",
  "plain text\r\n",
];

Deno.test("queries are removed, with the text around them kept", () => {
  for (const q of QUERIES) {
    assert.equal(filtered([`before${q}after`]), "beforeafter", JSON.stringify(q));
    assert.equal(queryLength(enc(q), 0), q.length, JSON.stringify(q));
  }
  assert.equal(filtered([QUERIES.join("")]), "");
});

Deno.test("other escape sequences and text pass through unchanged", () => {
  for (const k of KEPT) assert.equal(filtered([k]), k, JSON.stringify(k));
  assert.equal(filtered([KEPT.join("")]), KEPT.join(""));
});

Deno.test("a query split across chunks at every position is still removed", () => {
  const text = "login: \x1b[6nroot\x1b[>0c\r\n";
  for (let i = 0; i <= text.length; i++) {
    for (let j = i; j <= text.length; j++) {
      const parts = [text.slice(0, i), text.slice(i, j), text.slice(j)];
      assert.equal(filtered(parts), "login: root\r\n", JSON.stringify(parts));
    }
  }
  // One byte at a time.
  assert.equal(filtered([...text]), "login: root\r\n");
});

Deno.test("a held-back sequence that is no query comes out whole, in order", () => {
  assert.equal(filtered(["a\x1b[3", "1mb"]), "a\x1b[31mb");
  assert.equal(filtered(["a\x1b", "[", "?25", "h"]), "a\x1b[?25h");
  // Output that ends inside a possible query: flush() gives it back.
  const f = new TerminalQueryFilter();
  assert.equal(dec(f.push(enc("end\x1b[12"))), "end");
  assert.equal(dec(f.flush()), "\x1b[12");
  assert.equal(dec(f.flush()), "");
});

Deno.test("bytes that are not UTF-8 pass unchanged (firmware writes CP437)", () => {
  const raw = new Uint8Array([0xc9, 0xcd, 0xbb, 0x1b, 0x5b, 0x36, 0x6e, 0xff, 0x00, 0x80, 0x0a]);
  const f = new TerminalQueryFilter();
  const out = [...f.push(raw.subarray(0, 5)), ...f.push(raw.subarray(5)), ...f.flush()];
  assert.deepEqual(out, [0xc9, 0xcd, 0xbb, 0xff, 0x00, 0x80, 0x0a]);
});

Deno.test("a chunk without ESC is returned as is; a long digit run is not held", () => {
  const f = new TerminalQueryFilter();
  const chunk = enc("no escapes here\n");
  assert.equal(f.push(chunk), chunk);
  const long = "\x1b[" + "1".repeat(100);
  assert.equal(dec(f.push(enc(long))), long);
  assert.equal(queryLength(enc("\x1b["), 0), -1);
  assert.equal(queryLength(enc("\x1b"), 0), -1);
  assert.equal(queryLength(enc("\x1bX"), 0), 0);
});
