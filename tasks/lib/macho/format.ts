// Mach-O code-signature format: constants, report types, byte readers and MachOSignError.

// The format is the one in xnu's osfmk/kern/cs_blobs.h: big-endian blobs inside the
// little-endian Mach-O file.
//
//   LC_CODE_SIGNATURE (dataoff, datasize) -> SuperBlob 0xfade0cc0 { count, index[type, offset] }
//     slot 0       CodeDirectory 0xfade0c02 (the primary one)
//     slot 2       requirements 0xfade0c01, slot 5 entitlements 0xfade7171,
//     slot 7       DER entitlements 0xfade7172
//     slot 0x1000+ alternate CodeDirectories (other hash types)
//     slot 0x10000 CMS signature, a blob wrapper 0xfade0b01 (empty for ad hoc)
//   A CodeDirectory holds hash slot i (i >= 0) for code page i, bytes
//   [i * pageSize, min((i + 1) * pageSize, codeLimit)), and before it the special slots -1..-n:
//   the hash of the whole blob of type n in the SuperBlob (-1 is the Info.plist).

/** A file this module cannot parse (the message never quotes more than a few bytes of it). */
export class MachOSignError extends Error {
  override name = "MachOSignError";
}

export const fail = (msg: string): never => {
  throw new MachOSignError(msg);
};

export const MH_MAGIC_64 = 0xfeedfacf;
export const MH_MAGIC = 0xfeedface;
export const MH_CIGAM_64 = 0xcffaedfe;
export const MH_CIGAM = 0xcefaedfe;
export const FAT_MAGIC = 0xcafebabe;
export const FAT_MAGIC_64 = 0xcafebabf;
export const MH_EXECUTE = 2;
export const LC_SEGMENT_64 = 0x19;
export const LC_CODE_SIGNATURE = 0x1d;
export const CPU_TYPE_ARM64 = 0x0100000c;

export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSMAGIC_REQUIREMENTS = 0xfade0c01;
export const CSMAGIC_BLOBWRAPPER = 0xfade0b01;

export const CSSLOT_CODEDIRECTORY = 0;
export const CSSLOT_INFOSLOT = 1;
export const CSSLOT_REQUIREMENTS = 2;
export const CSSLOT_RESOURCEDIR = 3;
export const CSSLOT_APPLICATION = 4;
export const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
export const CSSLOT_ALTERNATE_CODEDIRECTORY_MAX = 5;
export const CSSLOT_SIGNATURESLOT = 0x10000;
export const CSSLOT_TICKETSLOT = 0x10002;

export const CS_ADHOC = 0x2;
export const CS_RUNTIME = 0x10000;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_EXECSEG_MAIN_BINARY = 0x1;

/**
 * The identifier a fresh ad-hoc signature gets unless told otherwise: the one Bun writes into
 * the darwin-arm64 executables it signs itself, so that both darwin targets carry the same one.
 */
export const ADHOC_IDENTIFIER = "a.out";

export const SPECIAL_SLOT_NAMES: Record<number, string> = {
  1: "Info.plist",
  2: "requirements",
  3: "resource directory",
  4: "application specific",
  5: "entitlements",
  6: "representation specific",
  7: "DER entitlements",
  8: "launch constraint (self)",
  9: "launch constraint (parent)",
  10: "launch constraint (responsible)",
  11: "library constraint",
};

export type HashName = "sha1" | "sha256" | "sha256-truncated" | "sha384";
export const HASH_TYPES: Record<number, { name: HashName; alg: string; size: number }> = {
  1: { name: "sha1", alg: "sha1", size: 20 },
  2: { name: "sha256", alg: "sha256", size: 32 },
  3: { name: "sha256-truncated", alg: "sha256", size: 20 },
  4: { name: "sha384", alg: "sha384", size: 48 },
};

// ---------------------------------------------------------------------------------------------
// Reports

export interface SpecialSlotReport {
  /** -1 .. -nSpecialSlots */
  slot: number;
  name: string;
  /**
   * ok: matches its blob; mismatch: differs from it; missing: a hash but no blob to match;
   * absent: zero and no blob; unverifiable: a hash of something outside the file (bundle files).
   */
  state: "ok" | "mismatch" | "missing" | "absent" | "unverifiable";
}

export interface CodeDirectoryReport {
  /** SuperBlob slot: 0 for the primary CodeDirectory, 0x1000.. for alternates */
  slot: number;
  version: number;
  flags: number;
  identifier: string;
  teamId: string | null;
  hashType: number;
  hashName: HashName;
  hashSize: number;
  /** bytes per code page; 0 means one page for everything up to codeLimit */
  pageSize: number;
  codeLimit: number;
  nCodeSlots: number;
  nSpecialSlots: number;
  execSegBase: number | null;
  execSegLimit: number | null;
  execSegFlags: number | null;
  /** hex, the CodeDirectory's hash truncated to 20 bytes, as `codesign -d` prints it */
  cdhash: string;
  mismatchedPages: number;
  /** the first few mismatching code slots */
  firstMismatches: number[];
  specialSlots: SpecialSlotReport[];
}

export interface SliceReport {
  /** offset of this Mach-O inside the file (0 for a thin file) */
  offset: number;
  size: number;
  cpuType: number;
  arch: string;
  signatureOffset: number;
  signatureSize: number;
  /** the primary CodeDirectory's identifier */
  identifier: string;
  /** no CMS signature (absent, or the empty wrapper `codesign -s -` writes) */
  adhoc: boolean;
  /** CS_ADHOC in the primary CodeDirectory's flags */
  adhocFlag: boolean;
  cms: "absent" | "empty" | "signed";
  cmsSize: number;
  codeDirectories: CodeDirectoryReport[];
  /** code slots over all CodeDirectories */
  pages: number;
  mismatchedPages: number;
  /** bytes before the signature that no CodeDirectory covers */
  uncoveredBytes: number;
  /** what makes the signature invalid; empty when it verifies */
  problems: string[];
  /** things worth knowing that do not make it invalid */
  notes: string[];
  ok: boolean;
}

export interface SignatureReport {
  fat: boolean;
  slices: SliceReport[];
  /** every slice verifies */
  ok: boolean;
  /** the first slice's identifier */
  identifier: string;
  /** every slice is ad hoc */
  adhoc: boolean;
  /** code slots over all CodeDirectories of all slices */
  pages: number;
  mismatchedPages: number;
  /** the hash types present (every slice, every CodeDirectory) */
  hashTypes: HashName[];
  /** every slice's problems, prefixed with its architecture in a universal file */
  problems: string[];
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

export const hex32 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
export const short = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

export function need(b: Uint8Array, off: number, len: number, what: string): void {
  if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0) {
    fail(`${what}: bad offset ${off} or length ${len}`);
  }
  if (off + len > b.length) {
    fail(`${what} (bytes ${off}..${off + len}) is past the end of the ${b.length}-byte image`);
  }
}
export const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
export function be32(b: Uint8Array, off: number, what: string): number {
  need(b, off, 4, what);
  return view(b).getUint32(off, false);
}
export function le32(b: Uint8Array, off: number, what: string): number {
  need(b, off, 4, what);
  return view(b).getUint32(off, true);
}
export function toSafe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${n} is too large`);
  return Number(n);
}
export function cString(b: Uint8Array, off: number, end: number, what: string): string {
  need(b, off, 1, what);
  const stop = b.subarray(off, end).indexOf(0);
  if (stop < 0) fail(`${what} at ${off} is not NUL-terminated`);
  return new TextDecoder().decode(b.subarray(off, off + stop));
}
export const fixedName = (b: Uint8Array, off: number) => {
  const raw = b.subarray(off, off + 16);
  const nul = raw.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul));
};

export function archName(cpu: number): string {
  return ({ 0x01000007: "x86_64", 0x0100000c: "arm64", 0x0200000c: "arm64_32" } as Record<
    number,
    string
  >)[cpu] ?? `cpu ${hex32(cpu)}`;
}
