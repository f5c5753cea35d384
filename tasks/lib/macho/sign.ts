// Mach-O ad-hoc re-signing: resignAdhoc (in place, or a fresh signature) and resignObstacles.
import {
  ADHOC_IDENTIFIER,
  archName,
  CPU_TYPE_ARM64,
  CS_ADHOC,
  CS_EXECSEG_MAIN_BINARY,
  CSMAGIC_BLOBWRAPPER,
  CSMAGIC_CODEDIRECTORY,
  CSMAGIC_EMBEDDED_SIGNATURE,
  CSMAGIC_REQUIREMENTS,
  CSSLOT_CODEDIRECTORY,
  CSSLOT_INFOSLOT,
  CSSLOT_REQUIREMENTS,
  CSSLOT_SIGNATURESLOT,
  fail,
  HASH_TYPES,
  MH_EXECUTE,
  short,
  view,
} from "./format.ts";
import { cmsState, digest, expectedSlots, page, slotAt, specialTarget } from "./hash.ts";
import { images, parseSlice, type Slice } from "./parse.ts";

function obstacles(s: Slice): string[] {
  const out: string[] = [];
  const { cms, size, ticket } = cmsState(s);
  if (cms === "signed") {
    out.push(
      `a ${size}-byte CMS signature signs the CodeDirectory (its hash, in the CMS cdhashes), ` +
        "and new hashes would break it",
    );
  }
  if (ticket) out.push("a notarization ticket names the old CodeDirectory hash");
  const primary = s.cds.find((cd) => cd.slot === CSSLOT_CODEDIRECTORY)!;
  if (!(primary.flags & CS_ADHOC)) out.push("the CodeDirectory lacks the ad-hoc flag");
  for (const cd of s.cds) {
    const name = `the ${HASH_TYPES[cd.hashType].name} CodeDirectory`;
    if (cd.codeLimit !== s.sigOffset) {
      out.push(`${name} covers ${cd.codeLimit} bytes, not the ${s.sigOffset} before the signature`);
    }
    if (cd.nCodeSlots !== expectedSlots(cd)) out.push(`${name} has the wrong number of slots`);
  }
  const tail = s.bytes.length - (s.sigOffset + s.sigSize);
  if (tail > 0) out.push(`${tail} bytes follow the signature`);
  return out;
}

/**
 * Why the signature cannot be repaired in place (new hashes in the existing layout); empty when it
 * can. Parses only, hashes nothing.
 */
export function resignObstacles(bytes: Uint8Array): string[] {
  const imgs = images(bytes);
  const fat = imgs.length > 1 || imgs[0].bytes !== bytes;
  return imgs.flatMap((img) => {
    const s = parseSlice(img.base, img.bytes);
    return obstacles(s).map((o) => (fat ? `${archName(s.cpuType)}: ${o}` : o));
  });
}

/** Rewrites every hash of an ad-hoc signature in place: code slots and the special slots of blobs. */
function rehash(s: Slice): void {
  const b = s.bytes;
  for (const cd of s.cds) {
    for (let i = 0; i < cd.nCodeSlots; i++) {
      slotAt(b, cd, i).set(digest(cd.hashType, page(b, cd, i)));
    }
    for (let k = 1; k <= cd.nSpecialSlots; k++) {
      const target = specialTarget(s, k);
      const stored = slotAt(b, cd, -k);
      // Info.plist: only rebind an embedded one the signature already bound.
      if (k === CSSLOT_INFOSLOT && stored.every((x) => x === 0)) continue;
      if (target instanceof Uint8Array) stored.set(digest(cd.hashType, target));
    }
  }
}

function validIdentifier(id: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(id)) fail(`bad signing identifier ${short(id)}`);
  return id;
}

/**
 * A fresh ad-hoc signature in the place of the old one, as `codesign -s -` writes it: a SHA-256
 * CodeDirectory over 4 KiB pages of everything before the signature, an empty requirement set and
 * an empty CMS wrapper. The signature stays at its offset at the end of __LINKEDIT; the file ends
 * where the new one does, and LC_CODE_SIGNATURE and __LINKEDIT's sizes are updated to match.
 */
function replaceSignature(s: Slice, identifier: string): Uint8Array {
  const b = s.bytes;
  const linkedit = s.segments.find((x) => x.name === "__LINKEDIT");
  if (!linkedit) fail("no __LINKEDIT segment to hold a new signature");
  const le = linkedit!;
  if (s.sigOffset < le.fileoff || s.sigOffset + s.sigSize !== le.fileoff + le.filesize) {
    fail("the signature is not at the end of __LINKEDIT; cannot resize it");
  }
  for (const seg of s.segments) {
    if (seg === le) continue;
    if (seg.filesize > 0 && seg.fileoff + seg.filesize > s.sigOffset) {
      fail(`segment ${short(seg.name)} lies after the signature; cannot resize it`);
    }
    if (seg.vmaddr > le.vmaddr) fail(`segment ${short(seg.name)} is mapped after __LINKEDIT`);
  }
  const text = s.segments.find((x) => x.name === "__TEXT");
  const codeLimit = s.sigOffset;
  const pageShift = 12;
  const hashSize = 32;
  const nCodeSlots = Math.ceil(codeLimit / 2 ** pageShift);
  const ident = new TextEncoder().encode(validIdentifier(identifier) + "\0");
  const nSpecialSlots = CSSLOT_REQUIREMENTS;
  const cdHeader = 88; // version 0x20400: through the exec segment fields
  const hashOffset = cdHeader + ident.length + nSpecialSlots * hashSize;
  const cdLength = hashOffset + nCodeSlots * hashSize;
  const reqLength = 12;
  const cmsLength = 8;
  const indexEnd = 12 + 3 * 8;
  const sbLength = indexEnd + cdLength + reqLength + cmsLength;
  const sigSize = Math.ceil(sbLength / 16) * 16;

  const out = new Uint8Array(codeLimit + sigSize);
  out.set(b.subarray(0, codeLimit));
  const dv = view(out);
  // Load commands: the new sizes (page 0, hashed below).
  dv.setUint32(s.sigCmdOffset + 12, sigSize, true);
  const filesize = codeLimit + sigSize - le.fileoff;
  const align = BigInt(s.cpuType === CPU_TYPE_ARM64 ? 0x4000 : 0x1000);
  const vmsize = ((BigInt(filesize) + align - 1n) / align) * align;
  dv.setBigUint64(le.cmdOffset + 48, BigInt(filesize), true);
  if (vmsize > le.vmsize) dv.setBigUint64(le.cmdOffset + 32, vmsize, true);

  // The SuperBlob.
  const sb = codeLimit;
  const cdAt = sb + indexEnd;
  const reqAt = cdAt + cdLength;
  const cmsAt = reqAt + reqLength;
  dv.setUint32(sb, CSMAGIC_EMBEDDED_SIGNATURE);
  dv.setUint32(sb + 4, sbLength);
  dv.setUint32(sb + 8, 3);
  [[CSSLOT_CODEDIRECTORY, cdAt], [CSSLOT_REQUIREMENTS, reqAt], [CSSLOT_SIGNATURESLOT, cmsAt]]
    .forEach(([type, at], i) => {
      dv.setUint32(sb + 12 + i * 8, type);
      dv.setUint32(sb + 16 + i * 8, at - sb);
    });
  dv.setUint32(reqAt, CSMAGIC_REQUIREMENTS);
  dv.setUint32(reqAt + 4, reqLength);
  dv.setUint32(reqAt + 8, 0);
  dv.setUint32(cmsAt, CSMAGIC_BLOBWRAPPER);
  dv.setUint32(cmsAt + 4, cmsLength);

  // The CodeDirectory.
  dv.setUint32(cdAt, CSMAGIC_CODEDIRECTORY);
  dv.setUint32(cdAt + 4, cdLength);
  dv.setUint32(cdAt + 8, 0x20400);
  dv.setUint32(cdAt + 12, CS_ADHOC);
  dv.setUint32(cdAt + 16, hashOffset);
  dv.setUint32(cdAt + 20, cdHeader);
  dv.setUint32(cdAt + 24, nSpecialSlots);
  dv.setUint32(cdAt + 28, nCodeSlots);
  if (codeLimit > 0xffffffff) dv.setBigUint64(cdAt + 56, BigInt(codeLimit));
  else dv.setUint32(cdAt + 32, codeLimit);
  out[cdAt + 36] = hashSize;
  out[cdAt + 37] = 2; // SHA-256
  out[cdAt + 39] = pageShift;
  dv.setBigUint64(cdAt + 64, BigInt(text?.fileoff ?? 0));
  dv.setBigUint64(cdAt + 72, BigInt(text?.filesize ?? 0));
  dv.setBigUint64(cdAt + 80, BigInt(s.fileType === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0));
  out.set(ident, cdAt + cdHeader);

  const fresh = parseSlice(0, out);
  rehash(fresh);
  return out;
}

export interface ResignOptions {
  /**
   * When the signature cannot be repaired in place (see resignObstacles: a real CMS signature,
   * code the CodeDirectory does not cover, ...), replace it with a fresh ad-hoc one (thin files
   * only) instead of throwing. Default false.
   */
  replace?: boolean;
  /** The identifier of a replacement signature; default ADHOC_IDENTIFIER. */
  identifier?: string;
}

/**
 * A copy of the file with a valid ad-hoc signature. When the signature is ad hoc and covers the
 * whole file, every code-slot hash of every CodeDirectory and the special-slot hashes of the blobs
 * present are recomputed in place: the layout and every other byte stay as they are. Otherwise it
 * throws, or with `replace` writes a fresh ad-hoc signature (see ResignOptions).
 */
export function resignAdhoc(bytes: Uint8Array, options: ResignOptions = {}): Uint8Array {
  const imgs = images(bytes);
  const fat = imgs.length > 1 || imgs[0].bytes !== bytes;
  const slices = imgs.map((img) => parseSlice(img.base, img.bytes));
  const blockers = slices.flatMap((s) => obstacles(s).map((o) => `${archName(s.cpuType)}: ${o}`));
  if (blockers.length === 0) {
    const out = new Uint8Array(bytes);
    for (const s of slices) {
      rehash(parseSlice(s.base, out.subarray(s.base, s.base + s.bytes.length)));
    }
    return out;
  }
  if (!options.replace) {
    fail(`cannot re-sign in place: ${blockers.join("; ")} (replace: true writes a new signature)`);
  }
  if (fat) fail("cannot replace the signatures of a universal file (its slices would move)");
  return replaceSignature(slices[0], options.identifier ?? ADHOC_IDENTIFIER);
}
