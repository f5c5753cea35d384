// pcapng, as Wireshark and tshark read it: a section header, one interface description per
// captured link and point, and an enhanced packet block per frame (microsecond timestamps,
// the frame's direction as seen from the VM's NIC). Little-endian. Pure.

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const LINKTYPE_ETHERNET = 1;

export type Direction = "inbound" | "outbound";

const pad4 = (n: number) => (n + 3) & ~3;

/** One option: code, length, value padded to 4 bytes. */
function option(code: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + pad4(value.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, code, true);
  v.setUint16(2, value.length, true);
  out.set(value, 4);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

function block(type: number, body: Uint8Array[]): Uint8Array {
  const bodyLen = body.reduce((a, b) => a + b.length, 0);
  const total = 12 + bodyLen;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  let o = 8;
  for (const b of body) out.set(b, o), (o += b.length);
  v.setUint32(total - 4, total, true);
  return out;
}

function withEnd(opts: Uint8Array[]): Uint8Array[] {
  return opts.length ? [...opts, new Uint8Array(4)] : [];
}

/** The section header: byte order magic, version 1.0, section length unknown. */
export function sectionHeader(app: string): Uint8Array {
  const fixed = new Uint8Array(16);
  const v = new DataView(fixed.buffer);
  v.setUint32(0, 0x1a2b3c4d, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  v.setBigInt64(8, -1n, true);
  return block(SHB, [fixed, ...withEnd([option(4, text(app))])]); // shb_userappl
}

/** An Ethernet interface with a name and description, timestamps in microseconds. */
export function interfaceDescription(
  name: string,
  description: string,
  snaplen: number,
): Uint8Array {
  const fixed = new Uint8Array(8);
  const v = new DataView(fixed.buffer);
  v.setUint16(0, LINKTYPE_ETHERNET, true);
  v.setUint32(4, snaplen, true);
  return block(IDB, [
    fixed,
    ...withEnd([
      option(2, text(name)), // if_name
      option(3, text(description)), // if_description
      option(9, new Uint8Array([6])), // if_tsresol: 10^-6
    ]),
  ]);
}

/** One frame on interface `iface`, at `tsUs` (µs since the epoch), cut to `snaplen`. */
export function enhancedPacket(
  iface: number,
  tsUs: number,
  frame: Uint8Array,
  snaplen: number,
  dir?: Direction,
): Uint8Array {
  const captured = Math.min(frame.length, snaplen);
  const fixed = new Uint8Array(20);
  const v = new DataView(fixed.buffer);
  const ts = BigInt(Math.floor(tsUs));
  v.setUint32(0, iface, true);
  v.setUint32(4, Number(ts >> 32n), true);
  v.setUint32(8, Number(ts & 0xffffffffn), true);
  v.setUint32(12, captured, true);
  v.setUint32(16, frame.length, true);
  const data = new Uint8Array(pad4(captured));
  data.set(frame.subarray(0, captured));
  const flags = new Uint8Array(4);
  if (dir) new DataView(flags.buffer).setUint32(0, dir === "inbound" ? 1 : 2, true);
  return block(EPB, [fixed, data, ...withEnd(dir ? [option(2, flags)] : [])]); // epb_flags
}
