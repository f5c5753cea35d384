// Mach-O code signatures without a Mac: the public API of tasks/lib/macho/.
//
// verifyAdhocSignature checks the embedded signature of a darwin executable (every
// CodeDirectory's page hashes and special slots, recomputed from the file) and resignAdhoc
// re-signs it ad hoc. Pure functions over bytes; node:crypto for the digests. The format is
// described in format.ts; parse.ts reads it, hash.ts hashes it, verify.ts and sign.ts use both.
export {
  ADHOC_IDENTIFIER,
  type CodeDirectoryReport,
  CS_ADHOC,
  CS_LINKER_SIGNED,
  CS_RUNTIME,
  type HashName,
  MachOSignError,
  type SignatureReport,
  type SliceReport,
  type SpecialSlotReport,
} from "./format.ts";
export { verifyAdhocSignature } from "./verify.ts";
export { resignAdhoc, resignObstacles, type ResignOptions } from "./sign.ts";
