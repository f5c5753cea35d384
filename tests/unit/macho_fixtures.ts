// Synthetic Mach-O inputs for the macho tests: ad-hoc signed executables, universal files, diffs.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

export const X86_64 = 0x01000007;
export const ARM64 = 0x0100000c;

export interface SynthOptions {
  cpu?: number;
  /** bytes of __TEXT (header, load commands and filler); not a multiple of the page size */
  textLen?: number;
  /** hash types of the CodeDirectories: the first in slot 0, the others in 0x1000.. */
  hashTypes?: number[];
  identifier?: string;
  entitlements?: string;
  /** the CMS wrapper's content: empty for ad hoc */
  cms?: Uint8Array;
  /** the CodeDirectories stop this many bytes before the signature */
  shortBy?: number;
  /** replaces the filler bytes of __TEXT */
  content?: Uint8Array;
}

const ALG: Record<number, [string, number]> = { 1: ["sha1", 20], 2: ["sha256", 32] };
const h = (type: number, data: Uint8Array) =>
  new Uint8Array(createHash(ALG[type][0]).update(data).digest()).subarray(0, ALG[type][1]);

/**
 * A thin 64-bit Mach-O executable (__TEXT, __LINKEDIT, LC_CODE_SIGNATURE) signed ad hoc the way
 * `codesign -s -` does it: CodeDirectories with 4 KiB pages, requirements, entitlements and an
 * empty CMS wrapper.
 */
export function synth(o: SynthOptions = {}): Uint8Array {
  const cpu = o.cpu ?? X86_64;
  const textLen = o.content?.length ?? o.textLen ?? 5 * 4096 + 1234;
  const hashTypes = o.hashTypes ?? [1, 2];
  const ident = new TextEncoder().encode((o.identifier ?? "com.example.synth") + "\0");
  const ents = new TextEncoder().encode(o.entitlements ?? "<plist><dict></dict></plist>");
  const cms = o.cms ?? new Uint8Array(0);
  const sigOffset = Math.ceil((textLen + 100) / 16) * 16; // some other __LINKEDIT data first
  const codeLimit = sigOffset - (o.shortBy ?? 0);
  const nCode = Math.ceil(codeLimit / 4096);
  const nSpecial = 5;
  const blobs: Array<[number, Uint8Array]> = [];
  const req = new Uint8Array(12);
  new DataView(req.buffer).setUint32(0, 0xfade0c01);
  new DataView(req.buffer).setUint32(4, 12);
  const ent = new Uint8Array(8 + ents.length);
  new DataView(ent.buffer).setUint32(0, 0xfade7171);
  new DataView(ent.buffer).setUint32(4, ent.length);
  ent.set(ents, 8);
  const wrap = new Uint8Array(8 + cms.length);
  new DataView(wrap.buffer).setUint32(0, 0xfade0b01);
  new DataView(wrap.buffer).setUint32(4, wrap.length);
  wrap.set(cms, 8);
  const cdLens = hashTypes.map((t) => 88 + ident.length + (nSpecial + nCode) * ALG[t][1]);
  const count = hashTypes.length + 3;
  const sbLen = 12 + count * 8 + cdLens.reduce((a, b) => a + b, 0) + 12 + ent.length +
    wrap.length;
  const sigSize = sbLen + 7; // LC_CODE_SIGNATURE may reserve more than the SuperBlob needs
  const file = new Uint8Array(sigOffset + sigSize);
  const dv = new DataView(file.buffer);

  // Header and load commands.
  const sizeofcmds = 72 * 2 + 16;
  dv.setUint32(0, 0xfeedfacf, true);
  dv.setUint32(4, cpu, true);
  dv.setUint32(12, 2, true); // MH_EXECUTE
  dv.setUint32(16, 3, true);
  dv.setUint32(20, sizeofcmds, true);
  const segment = (at: number, name: string, vmaddr: bigint, fileoff: number, size: number) => {
    dv.setUint32(at, 0x19, true);
    dv.setUint32(at + 4, 72, true);
    file.set(new TextEncoder().encode(name), at + 8);
    dv.setBigUint64(at + 24, vmaddr, true);
    dv.setBigUint64(at + 32, BigInt(Math.ceil(size / 0x4000) * 0x4000), true);
    dv.setBigUint64(at + 40, BigInt(fileoff), true);
    dv.setBigUint64(at + 48, BigInt(size), true);
  };
  segment(32, "__TEXT", 0x100000000n, 0, textLen);
  segment(104, "__LINKEDIT", 0x100100000n, textLen, file.length - textLen);
  dv.setUint32(176, 0x1d, true);
  dv.setUint32(180, 16, true);
  dv.setUint32(184, sigOffset, true);
  dv.setUint32(188, sigSize, true);
  // Code: given, or a deterministic pattern.
  const start = 32 + sizeofcmds;
  if (o.content) file.set(o.content.subarray(start), start);
  else for (let i = start; i < textLen; i++) file[i] = (i * 131 + (i >> 8)) & 0xff;
  for (let i = textLen; i < sigOffset; i++) file[i] = 0x5a;

  // The SuperBlob: CodeDirectories, then requirements, entitlements, CMS.
  dv.setUint32(sigOffset, 0xfade0cc0);
  dv.setUint32(sigOffset + 4, sbLen);
  dv.setUint32(sigOffset + 8, count);
  let at = 12 + count * 8;
  const slots: Array<[number, number]> = [];
  const cdAt: number[] = [];
  hashTypes.forEach((_, i) => {
    slots.push([i === 0 ? 0 : 0x1000 + i - 1, at]);
    cdAt.push(sigOffset + at);
    at += cdLens[i];
  });
  for (const [type, blob] of [[2, req], [5, ent], [0x10000, wrap]] as const) {
    slots.push([type, at]);
    file.set(blob, sigOffset + at);
    blobs.push([type, blob]);
    at += blob.length;
  }
  slots.forEach(([type, off], i) => {
    dv.setUint32(sigOffset + 12 + i * 8, type);
    dv.setUint32(sigOffset + 16 + i * 8, off);
  });
  hashTypes.forEach((t, i) => {
    const c = cdAt[i];
    const size = ALG[t][1];
    const hashOffset = 88 + ident.length + nSpecial * size;
    dv.setUint32(c, 0xfade0c02);
    dv.setUint32(c + 4, cdLens[i]);
    dv.setUint32(c + 8, 0x20400);
    dv.setUint32(c + 12, 0x2); // CS_ADHOC
    dv.setUint32(c + 16, hashOffset);
    dv.setUint32(c + 20, 88);
    dv.setUint32(c + 24, nSpecial);
    dv.setUint32(c + 28, nCode);
    dv.setUint32(c + 32, codeLimit);
    file[c + 36] = size;
    file[c + 37] = t;
    file[c + 39] = 12;
    dv.setBigUint64(c + 72, BigInt(textLen));
    dv.setBigUint64(c + 80, 1n);
    file.set(ident, c + 88);
    for (const [type, blob] of blobs) {
      if (type <= nSpecial) file.set(h(t, blob), c + hashOffset - type * size);
    }
    for (let p = 0; p < nCode; p++) {
      const page = file.subarray(p * 4096, Math.min((p + 1) * 4096, codeLimit));
      file.set(h(t, page), c + hashOffset + p * size);
    }
  });
  return file;
}

/** Where the code-slot hashes of page p lie in a synth() file, for each CodeDirectory. */
export function slotRanges(file: Uint8Array, p: number): Array<[number, number]> {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const sig = dv.getUint32(184, true);
  const count = dv.getUint32(sig + 8);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const c = sig + dv.getUint32(sig + 16 + i * 8);
    if (dv.getUint32(c) !== 0xfade0c02) continue;
    const at = c + dv.getUint32(c + 16) + p * file[c + 36];
    out.push([at, at + file[c + 36]]);
  }
  return out;
}

export function diff(a: Uint8Array, b: Uint8Array): number[] {
  assert.equal(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** A universal file holding the given thin ones, each aligned to 16 KiB. */
export function fat(thin: Array<[number, Uint8Array]>): Uint8Array {
  const offsets: number[] = [];
  let end = 0x4000;
  for (const [, b] of thin) {
    offsets.push(end);
    end = Math.ceil((end + b.length) / 0x4000) * 0x4000;
  }
  const out = new Uint8Array(end);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xcafebabe);
  dv.setUint32(4, thin.length);
  thin.forEach(([cpu, b], i) => {
    dv.setUint32(8 + i * 20, cpu);
    dv.setUint32(16 + i * 20, offsets[i]);
    dv.setUint32(20 + i * 20, b.length);
    dv.setUint32(24 + i * 20, 14);
    out.set(b, offsets[i]);
  });
  return out;
}
