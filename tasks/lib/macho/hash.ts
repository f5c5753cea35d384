// Mach-O signature hashing: digests, code pages and the slots of a CodeDirectory that hash them.
import { createHash } from "node:crypto";
import {
  CSSLOT_APPLICATION,
  CSSLOT_INFOSLOT,
  CSSLOT_RESOURCEDIR,
  CSSLOT_SIGNATURESLOT,
  CSSLOT_TICKETSLOT,
  HASH_TYPES,
  type SliceReport,
} from "./format.ts";
import type { CodeDirectory, Slice } from "./parse.ts";

export function digest(hashType: number, data: Uint8Array): Uint8Array {
  const { alg, size } = HASH_TYPES[hashType];
  const d: Uint8Array = createHash(alg).update(data).digest();
  return d.length === size ? d : d.subarray(0, size);
}

export function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const pageBytes = (cd: CodeDirectory) => (cd.pageShift === 0 ? 0 : 2 ** cd.pageShift);

/** The number of code slots codeLimit needs. */
export function expectedSlots(cd: CodeDirectory): number {
  const ps = pageBytes(cd);
  if (cd.codeLimit === 0) return 0;
  return ps === 0 ? 1 : Math.ceil(cd.codeLimit / ps);
}

/** The bytes code slot i covers. */
export function page(b: Uint8Array, cd: CodeDirectory, i: number): Uint8Array {
  const ps = pageBytes(cd);
  if (ps === 0) return b.subarray(0, cd.codeLimit);
  return b.subarray(i * ps, Math.min((i + 1) * ps, cd.codeLimit));
}

export const slotAt = (b: Uint8Array, cd: CodeDirectory, i: number) => {
  const at = cd.offset + cd.hashOffset + i * cd.hashSize;
  return b.subarray(at, at + cd.hashSize);
};

/** What special slot -k should hold, or null when nothing in the file gives it. */
export function specialTarget(s: Slice, k: number): Uint8Array | "external" | null {
  const blob = s.blobs.find((x) => x.type === k);
  if (blob) return s.bytes.subarray(blob.offset, blob.offset + blob.length);
  if (k === CSSLOT_INFOSLOT) {
    // A bare executable can carry its Info.plist in __TEXT,__info_plist.
    for (const seg of s.segments) {
      const sect = seg.sections.find((x) =>
        x.segname === "__TEXT" && x.sectname === "__info_plist"
      );
      if (sect && sect.offset + sect.size <= s.bytes.length) {
        return s.bytes.subarray(sect.offset, sect.offset + sect.size);
      }
    }
    return "external";
  }
  if (k === CSSLOT_RESOURCEDIR || k === CSSLOT_APPLICATION) return "external";
  return null;
}

export function cmsState(s: Slice): { cms: SliceReport["cms"]; size: number; ticket: boolean } {
  const w = s.blobs.find((x) => x.type === CSSLOT_SIGNATURESLOT);
  const ticket = s.blobs.some((x) => x.type === CSSLOT_TICKETSLOT);
  if (!w) return { cms: "absent", size: 0, ticket };
  return { cms: w.length <= 8 ? "empty" : "signed", size: w.length - 8, ticket };
}
