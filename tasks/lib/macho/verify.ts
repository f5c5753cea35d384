// Mach-O signature verification: verifyAdhocSignature and the per-slice checks behind it.
import {
  archName,
  type CodeDirectoryReport,
  CS_ADHOC,
  CS_RUNTIME,
  CSSLOT_ALTERNATE_CODEDIRECTORIES,
  CSSLOT_CODEDIRECTORY,
  HASH_TYPES,
  short,
  type SignatureReport,
  type SliceReport,
  SPECIAL_SLOT_NAMES,
  type SpecialSlotReport,
} from "./format.ts";
import {
  cmsState,
  digest,
  expectedSlots,
  page,
  pageBytes,
  same,
  slotAt,
  specialTarget,
} from "./hash.ts";
import { images, parseSlice, type Slice } from "./parse.ts";

function verifySlice(s: Slice): SliceReport {
  const b = s.bytes;
  const problems: string[] = [];
  const notes: string[] = [];
  const primary = s.cds.find((cd) => cd.slot === CSSLOT_CODEDIRECTORY)!;
  const { cms, size: cmsSize, ticket } = cmsState(s);
  const adhocFlag = (primary.flags & CS_ADHOC) !== 0;
  if (adhocFlag && cms === "signed") {
    problems.push(`the CodeDirectory says ad hoc but there is a ${cmsSize}-byte CMS signature`);
  }
  if (cms === "signed") {
    notes.push(`a ${cmsSize}-byte CMS signature (not ad hoc); its certificates are not checked`);
  }
  if (ticket) notes.push("a notarization ticket is attached");
  if (primary.flags & CS_RUNTIME) notes.push("hardened runtime (CS_RUNTIME)");
  const cdReports: CodeDirectoryReport[] = [];
  let uncovered = 0;
  for (const cd of s.cds) {
    const name = `${HASH_TYPES[cd.hashType].name} CodeDirectory`;
    if (cd.identifier !== primary.identifier) {
      problems.push(
        `the ${name} names ${short(cd.identifier)}, slot 0 ${short(primary.identifier)}`,
      );
    }
    if (cd.codeLimit < s.sigOffset) {
      uncovered = Math.max(uncovered, s.sigOffset - cd.codeLimit);
      problems.push(
        `the ${name} covers ${cd.codeLimit} of the ${s.sigOffset} bytes before the signature ` +
          `(${s.sigOffset - cd.codeLimit} unsigned)`,
      );
    } else if (cd.codeLimit > s.sigOffset) {
      problems.push(`the ${name}'s codeLimit ${cd.codeLimit} reaches into the signature`);
    }
    const want = expectedSlots(cd);
    if (cd.nCodeSlots !== want) {
      problems.push(`the ${name} has ${cd.nCodeSlots} code slots; codeLimit needs ${want}`);
    }
    const mismatches: number[] = [];
    for (let i = 0; i < cd.nCodeSlots; i++) {
      if (i >= want || !same(digest(cd.hashType, page(b, cd, i)), slotAt(b, cd, i))) {
        mismatches.push(i);
      }
    }
    if (mismatches.length) {
      problems.push(
        `${mismatches.length} of ${cd.nCodeSlots} page hashes in the ${name} differ ` +
          `(first: ${mismatches.slice(0, 5).join(", ")})`,
      );
    }
    const specialSlots: SpecialSlotReport[] = [];
    for (let k = 1; k <= cd.nSpecialSlots; k++) {
      const stored = slotAt(b, cd, -k);
      const zero = stored.every((x) => x === 0);
      const target = specialTarget(s, k);
      const slotName = SPECIAL_SLOT_NAMES[k] ?? `special slot ${k}`;
      let state: SpecialSlotReport["state"];
      if (target === "external") state = zero ? "absent" : "unverifiable";
      else if (target === null) state = zero ? "absent" : "missing";
      else state = same(digest(cd.hashType, target), stored) ? "ok" : "mismatch";
      if (state === "mismatch" || state === "missing") {
        problems.push(
          `the ${name}'s ${slotName} slot (-${k}) ${
            state === "missing" ? "hashes a blob the signature lacks" : "does not match its blob"
          }`,
        );
      }
      if (state === "unverifiable") notes.push(`the ${slotName} slot hashes a file outside`);
      specialSlots.push({ slot: -k, name: slotName, state });
    }
    // Special blobs that this CodeDirectory leaves unbound are not part of the signature.
    for (const blob of s.blobs) {
      if (blob.type > cd.nSpecialSlots && blob.type < CSSLOT_ALTERNATE_CODEDIRECTORIES) {
        problems.push(`the ${name} does not bind the blob in slot ${blob.type}`);
      }
    }
    const cdBytes = b.subarray(cd.offset, cd.offset + cd.length);
    cdReports.push({
      slot: cd.slot,
      version: cd.version,
      flags: cd.flags,
      identifier: cd.identifier,
      teamId: cd.teamId,
      hashType: cd.hashType,
      hashName: HASH_TYPES[cd.hashType].name,
      hashSize: cd.hashSize,
      pageSize: pageBytes(cd),
      codeLimit: cd.codeLimit,
      nCodeSlots: cd.nCodeSlots,
      nSpecialSlots: cd.nSpecialSlots,
      execSegBase: cd.execSegBase,
      execSegLimit: cd.execSegLimit,
      execSegFlags: cd.execSegFlags,
      cdhash: Array.from(digest(cd.hashType, cdBytes).subarray(0, 20))
        .map((x) => x.toString(16).padStart(2, "0")).join(""),
      mismatchedPages: mismatches.length,
      firstMismatches: mismatches.slice(0, 10),
      specialSlots,
    });
  }
  const tail = b.length - (s.sigOffset + s.sigSize);
  if (tail > 0) problems.push(`${tail} bytes follow the signature`);
  if (!s.cds.some((cd) => cd.hashType === 2)) notes.push("no SHA-256 CodeDirectory");
  return {
    offset: s.base,
    size: b.length,
    cpuType: s.cpuType,
    arch: archName(s.cpuType),
    signatureOffset: s.sigOffset,
    signatureSize: s.sigSize,
    identifier: primary.identifier,
    adhoc: cms !== "signed",
    adhocFlag,
    cms,
    cmsSize,
    codeDirectories: cdReports,
    pages: cdReports.reduce((n, cd) => n + cd.nCodeSlots, 0),
    mismatchedPages: cdReports.reduce((n, cd) => n + cd.mismatchedPages, 0),
    uncoveredBytes: uncovered,
    problems,
    notes,
    ok: problems.length === 0,
  };
}

/**
 * Recomputes every hash of the embedded code signature of a 64-bit Mach-O file (thin, or each
 * slice of a universal one) and reports what differs. Throws MachOSignError when the file is not
 * a signed 64-bit Mach-O or its signature is malformed.
 */
export function verifyAdhocSignature(bytes: Uint8Array): SignatureReport {
  const imgs = images(bytes);
  const fat = imgs.length > 1 || imgs[0].bytes !== bytes;
  const slices = imgs.map((img) => verifySlice(parseSlice(img.base, img.bytes)));
  return {
    fat,
    slices,
    ok: slices.every((s) => s.ok),
    identifier: slices[0].identifier,
    adhoc: slices.every((s) => s.adhoc),
    pages: slices.reduce((n, s) => n + s.pages, 0),
    mismatchedPages: slices.reduce((n, s) => n + s.mismatchedPages, 0),
    hashTypes: [...new Set(slices.flatMap((s) => s.codeDirectories.map((cd) => cd.hashName)))],
    problems: slices.flatMap((s) => s.problems.map((p) => (fat ? `${s.arch}: ${p}` : p))),
  };
}
