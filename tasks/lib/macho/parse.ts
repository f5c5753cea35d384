// Mach-O parsing: thin and universal images, load commands, the SuperBlob, CodeDirectories.
import {
  archName,
  be32,
  CSMAGIC_CODEDIRECTORY,
  CSMAGIC_EMBEDDED_SIGNATURE,
  CSSLOT_ALTERNATE_CODEDIRECTORIES,
  CSSLOT_ALTERNATE_CODEDIRECTORY_MAX,
  CSSLOT_CODEDIRECTORY,
  cString,
  fail,
  FAT_MAGIC,
  FAT_MAGIC_64,
  fixedName,
  HASH_TYPES,
  hex32,
  LC_CODE_SIGNATURE,
  LC_SEGMENT_64,
  le32,
  MH_CIGAM,
  MH_CIGAM_64,
  MH_MAGIC,
  MH_MAGIC_64,
  need,
  toSafe,
  view,
} from "./format.ts";

export interface Segment {
  name: string;
  cmdOffset: number;
  vmaddr: bigint;
  vmsize: bigint;
  fileoff: number;
  filesize: number;
  sections: Array<{ segname: string; sectname: string; offset: number; size: number }>;
}

export interface Blob {
  type: number;
  /** offset in the slice */
  offset: number;
  magic: number;
  length: number;
}

export interface CodeDirectory {
  slot: number;
  /** offset in the slice */
  offset: number;
  length: number;
  version: number;
  flags: number;
  hashOffset: number;
  nSpecialSlots: number;
  nCodeSlots: number;
  codeLimit: number;
  hashType: number;
  hashSize: number;
  pageShift: number;
  identifier: string;
  teamId: string | null;
  execSegBase: number | null;
  execSegLimit: number | null;
  execSegFlags: number | null;
}

export interface Slice {
  /** offset of the slice in the file */
  base: number;
  bytes: Uint8Array;
  cpuType: number;
  fileType: number;
  segments: Segment[];
  sigCmdOffset: number;
  sigOffset: number;
  sigSize: number;
  superBlobLength: number;
  blobs: Blob[];
  cds: CodeDirectory[];
}

/** The Mach-O images in a file: one for a thin file, one per architecture for a universal one. */
export function images(bytes: Uint8Array): Array<{ base: number; bytes: Uint8Array }> {
  if (bytes.length < 8) fail(`not a Mach-O file: only ${bytes.length} bytes`);
  const magicBE = be32(bytes, 0, "magic");
  if (magicBE !== FAT_MAGIC && magicBE !== FAT_MAGIC_64) return [{ base: 0, bytes }];
  const wide = magicBE === FAT_MAGIC_64;
  const n = be32(bytes, 4, "fat header");
  // 0xcafebabe also starts Java class files, whose "count" is a class-file version (>= 45).
  if (n === 0 || n > 32) fail(`universal header with ${n} architectures: not a Mach-O file`);
  const entry = wide ? 32 : 20;
  need(bytes, 8, n * entry, "universal header");
  const out: Array<{ base: number; bytes: Uint8Array }> = [];
  for (let i = 0; i < n; i++) {
    const at = 8 + i * entry;
    const off = wide
      ? toSafe(view(bytes).getBigUint64(at + 8, false), "slice offset")
      : be32(bytes, at + 8, "slice");
    const size = wide
      ? toSafe(view(bytes).getBigUint64(at + 16, false), "slice size")
      : be32(bytes, at + 12, "slice");
    need(bytes, off, size, `architecture ${i}`);
    if (off < 8 + n * entry) fail(`architecture ${i} overlaps the universal header`);
    out.push({ base: off, bytes: bytes.subarray(off, off + size) });
  }
  return out;
}

export function parseSlice(base: number, b: Uint8Array): Slice {
  const magic = le32(b, 0, "Mach-O header");
  if (magic === MH_MAGIC || magic === MH_CIGAM) fail("32-bit Mach-O is not supported");
  if (magic === MH_CIGAM_64) fail("big-endian Mach-O is not supported");
  if (magic !== MH_MAGIC_64) fail(`not a Mach-O file (magic ${hex32(magic)})`);
  need(b, 0, 32, "Mach-O header");
  const cpuType = le32(b, 4, "header");
  const fileType = le32(b, 12, "header");
  const ncmds = le32(b, 16, "header");
  const sizeofcmds = le32(b, 20, "header");
  need(b, 32, sizeofcmds, "load commands");
  const end = 32 + sizeofcmds;
  const segments: Segment[] = [];
  let sig: { cmd: number; off: number; size: number } | null = null;
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > end) fail(`load command ${i} is past the ${sizeofcmds} bytes of commands`);
    const cmd = le32(b, at, "load command");
    const size = le32(b, at + 4, "load command");
    if (size < 8 || at + size > end) fail(`load command ${i} has a bad size ${size}`);
    if (cmd === LC_SEGMENT_64) {
      if (size < 72) fail(`segment command ${i} is too short`);
      const dv = view(b);
      const nsects = le32(b, at + 64, "segment");
      if (72 + nsects * 80 > size) fail(`segment command ${i}: ${nsects} sections do not fit`);
      const seg: Segment = {
        name: fixedName(b, at + 8),
        cmdOffset: at,
        vmaddr: dv.getBigUint64(at + 24, true),
        vmsize: dv.getBigUint64(at + 32, true),
        fileoff: toSafe(dv.getBigUint64(at + 40, true), "segment file offset"),
        filesize: toSafe(dv.getBigUint64(at + 48, true), "segment file size"),
        sections: [],
      };
      for (let s = 0; s < nsects; s++) {
        const sa = at + 72 + s * 80;
        seg.sections.push({
          sectname: fixedName(b, sa),
          segname: fixedName(b, sa + 16),
          size: toSafe(dv.getBigUint64(sa + 40, true), "section size"),
          offset: le32(b, sa + 48, "section"),
        });
      }
      segments.push(seg);
    } else if (cmd === LC_CODE_SIGNATURE) {
      if (size < 16) fail("LC_CODE_SIGNATURE is too short");
      if (sig) fail("more than one LC_CODE_SIGNATURE");
      const off = le32(b, at + 8, "LC_CODE_SIGNATURE");
      sig = { cmd: at, off, size: le32(b, at + 12, "LC_CODE_SIGNATURE") };
    }
    at += size;
  }
  if (!sig) fail(`the ${archName(cpuType)} image has no LC_CODE_SIGNATURE: it is not signed`);
  const { cmd: sigCmdOffset, off: sigOffset, size: sigSize } = sig!;
  need(b, sigOffset, sigSize, "the code signature");
  if (sigOffset < end) fail("the code signature overlaps the load commands");

  // The SuperBlob and its index.
  const sb = b.subarray(sigOffset, sigOffset + sigSize);
  const sbMagic = be32(sb, 0, "signature SuperBlob");
  if (sbMagic !== CSMAGIC_EMBEDDED_SIGNATURE) {
    fail(`the code signature is not an embedded-signature SuperBlob (magic ${hex32(sbMagic)})`);
  }
  const superBlobLength = be32(sb, 4, "SuperBlob");
  const count = be32(sb, 8, "SuperBlob");
  if (superBlobLength > sigSize) {
    fail(`the SuperBlob (${superBlobLength} bytes) is larger than LC_CODE_SIGNATURE's ${sigSize}`);
  }
  if (superBlobLength < 12 || 12 + count * 8 > superBlobLength) {
    fail(`the SuperBlob index (${count} entries) does not fit in ${superBlobLength} bytes`);
  }
  const sbIn = sb.subarray(0, superBlobLength);
  const blobs: Blob[] = [];
  for (let i = 0; i < count; i++) {
    const type = be32(sbIn, 12 + i * 8, "SuperBlob index");
    const off = be32(sbIn, 16 + i * 8, "SuperBlob index");
    const what = `blob ${hex32(type)}`;
    if (off < 12 + count * 8) fail(`${what} overlaps the SuperBlob index`);
    const blobMagic = be32(sbIn, off, what);
    const length = be32(sbIn, off + 4, what);
    if (length < 8) fail(`${what} has a bad length ${length}`);
    need(sbIn, off, length, what);
    if (blobs.some((x) => x.type === type)) fail(`the SuperBlob has two blobs in slot ${type}`);
    blobs.push({ type, offset: sigOffset + off, magic: blobMagic, length });
  }

  const cds: CodeDirectory[] = [];
  for (const blob of blobs) {
    const alternate = blob.type >= CSSLOT_ALTERNATE_CODEDIRECTORIES &&
      blob.type < CSSLOT_ALTERNATE_CODEDIRECTORIES + CSSLOT_ALTERNATE_CODEDIRECTORY_MAX;
    if (blob.type !== CSSLOT_CODEDIRECTORY && !alternate) continue;
    if (blob.magic !== CSMAGIC_CODEDIRECTORY) {
      fail(`slot ${hex32(blob.type)} holds magic ${hex32(blob.magic)}, not a CodeDirectory`);
    }
    cds.push(parseCodeDirectory(b, blob, b.length));
  }
  if (!cds.some((cd) => cd.slot === CSSLOT_CODEDIRECTORY)) {
    fail("the signature has no CodeDirectory in slot 0");
  }
  cds.sort((x, y) => x.slot - y.slot);
  return {
    base,
    bytes: b,
    cpuType,
    fileType,
    segments,
    sigCmdOffset,
    sigOffset,
    sigSize,
    superBlobLength,
    blobs,
    cds,
  };
}

function parseCodeDirectory(b: Uint8Array, blob: Blob, imageSize: number): CodeDirectory {
  const cd = b.subarray(blob.offset, blob.offset + blob.length);
  const what = `CodeDirectory in slot ${hex32(blob.type)}`;
  const u32 = (o: number) => be32(cd, o, what);
  const u64 = (o: number) => {
    need(cd, o, 8, what);
    return toSafe(view(cd).getBigUint64(o, false), `${what} field`);
  };
  need(cd, 0, 44, what);
  const version = u32(8);
  const fixedEnd = version >= 0x20600
    ? 108
    : version >= 0x20500
    ? 96
    : version >= 0x20400
    ? 88
    : version >= 0x20300
    ? 64
    : version >= 0x20200
    ? 52
    : version >= 0x20100
    ? 48
    : 44;
  if (blob.length < fixedEnd) fail(`${what}: version ${hex32(version)} needs ${fixedEnd} bytes`);
  const hashOffset = u32(16);
  const identOffset = u32(20);
  const nSpecialSlots = u32(24);
  const nCodeSlots = u32(28);
  let codeLimit = u32(32);
  const hashSize = cd[36];
  const hashType = cd[37];
  const pageShift = cd[39];
  if (version >= 0x20300) {
    const limit64 = u64(56);
    if (limit64 !== 0) codeLimit = limit64;
  }
  const ht = HASH_TYPES[hashType];
  if (!ht) fail(`${what}: unknown hash type ${hashType}`);
  if (hashSize !== ht.size) fail(`${what}: hash size ${hashSize} for ${ht.name}`);
  if (pageShift !== 0 && (pageShift < 9 || pageShift > 24)) {
    fail(`${what}: unsupported page size 2^${pageShift}`);
  }
  if (hashOffset < fixedEnd + nSpecialSlots * hashSize) {
    fail(`${what}: ${nSpecialSlots} special slots do not fit before offset ${hashOffset}`);
  }
  need(cd, hashOffset, nCodeSlots * hashSize, `${what}: ${nCodeSlots} code slots`);
  if (identOffset < fixedEnd) fail(`${what}: identifier offset ${identOffset} is in the header`);
  const identifier = cString(cd, identOffset, cd.length, `${what}: identifier`);
  let teamId: string | null = null;
  if (version >= 0x20200 && u32(48) !== 0) {
    teamId = cString(cd, u32(48), cd.length, `${what}: team identifier`);
  }
  if (codeLimit > imageSize) {
    fail(`${what}: codeLimit ${codeLimit} is past the end of the ${imageSize}-byte image`);
  }
  const execSeg = version >= 0x20400;
  return {
    slot: blob.type,
    offset: blob.offset,
    length: blob.length,
    version,
    flags: u32(12),
    hashOffset,
    nSpecialSlots,
    nCodeSlots,
    codeLimit,
    hashType,
    hashSize,
    pageShift,
    identifier,
    teamId,
    execSegBase: execSeg ? u64(64) : null,
    execSegLimit: execSeg ? u64(72) : null,
    execSegFlags: execSeg ? u64(80) : null,
  };
}
