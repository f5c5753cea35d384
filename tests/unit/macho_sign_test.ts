// Mach-O ad-hoc signatures (tasks/lib/macho/) on synthetic executables built with a signer of
// their own (macho_fixtures.ts), and on the compiled darwin executables in dist/ when there are any.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ADHOC_IDENTIFIER,
  MachOSignError,
  resignAdhoc,
  resignObstacles,
  verifyAdhocSignature,
} from "../../tasks/lib/macho/mod.ts";
import { ARM64, diff, fat, slotRanges, synth, X86_64 } from "./macho_fixtures.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("macho_sign: a synthetic ad-hoc executable verifies, special slots included", () => {
  const file = synth();
  const r = verifyAdhocSignature(file);
  assert.deepEqual(r.problems, []);
  assert.equal(r.ok, true);
  assert.equal(r.fat, false);
  assert.equal(r.identifier, "com.example.synth");
  assert.equal(r.adhoc, true);
  assert.deepEqual(r.hashTypes, ["sha1", "sha256"]);
  assert.equal(r.mismatchedPages, 0);
  const s = r.slices[0];
  assert.equal(s.cms, "empty");
  assert.equal(s.adhocFlag, true);
  assert.equal(s.arch, "x86_64");
  assert.deepEqual(s.codeDirectories.map((cd) => cd.slot), [0, 0x1000]);
  const pages = Math.ceil(s.signatureOffset / 4096);
  assert.equal(r.pages, 2 * pages);
  for (const cd of s.codeDirectories) {
    assert.equal(cd.nCodeSlots, pages);
    assert.equal(cd.pageSize, 4096);
    assert.equal(cd.codeLimit, s.signatureOffset);
    assert.equal(cd.execSegLimit, 5 * 4096 + 1234);
    assert.match(cd.cdhash, /^[0-9a-f]{40}$/);
    assert.deepEqual(cd.specialSlots.map((x) => [x.slot, x.state]), [
      [-1, "absent"],
      [-2, "ok"],
      [-3, "absent"],
      [-4, "absent"],
      [-5, "ok"],
    ]);
  }
  // Nothing to fix: re-signing gives the same bytes.
  assert.deepEqual(resignObstacles(file), []);
  assert.deepEqual(diff(resignAdhoc(file), file), []);
});

Deno.test("macho_sign: a corrupted page is found, and re-signing changes only its hashes", () => {
  const clean = synth();
  const bad = clean.slice();
  bad[2 * 4096 + 77] ^= 0xff;
  const r = verifyAdhocSignature(bad);
  assert.equal(r.ok, false);
  assert.equal(r.mismatchedPages, 2, "one page, two CodeDirectories");
  for (const cd of r.slices[0].codeDirectories) {
    assert.equal(cd.mismatchedPages, 1);
    assert.deepEqual(cd.firstMismatches, [2]);
  }
  assert.match(r.problems.join("\n"), /1 of \d+ page hashes in the sha1 CodeDirectory differ/);

  const fixed = resignAdhoc(bad);
  assert.notEqual(fixed, bad, "a copy");
  assert.equal(bad[2 * 4096 + 77], clean[2 * 4096 + 77] ^ 0xff, "the input is left alone");
  const after = verifyAdhocSignature(fixed);
  assert.deepEqual(after.problems, []);
  assert.equal(after.mismatchedPages, 0);
  // Only the two hashes of page 2 changed, and they are what a signer writes for those bytes.
  const changed = diff(bad, fixed);
  const ranges = slotRanges(bad, 2);
  assert.ok(changed.length > 0);
  assert.ok(changed.every((i) => ranges.some(([a, b]) => i >= a && i < b)), String(changed));
  assert.deepEqual(diff(fixed, synth({ content: bad.subarray(0, 5 * 4096 + 1234) })), []);
});

Deno.test("macho_sign: the last, partial page is hashed up to codeLimit", () => {
  const bad = synth();
  const r0 = verifyAdhocSignature(bad);
  const limit = r0.slices[0].signatureOffset;
  bad[limit - 1] ^= 1;
  const r = verifyAdhocSignature(bad);
  const last = Math.ceil(limit / 4096) - 1;
  assert.deepEqual(r.slices[0].codeDirectories.map((cd) => cd.firstMismatches), [[last], [last]]);
  assert.equal(verifyAdhocSignature(resignAdhoc(bad)).ok, true);
});

Deno.test("macho_sign: a changed entitlements blob fails its special slot; re-signing binds it", () => {
  const file = synth({ entitlements: "<plist><dict><key>a</key></dict></plist>" });
  const at = Buffer.from(file).indexOf("<key>a</key>");
  file[at + 5] = "b".charCodeAt(0);
  const r = verifyAdhocSignature(file);
  assert.equal(r.mismatchedPages, 0);
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.slices[0].codeDirectories.map((cd) => cd.specialSlots.find((s) => s.slot === -5)?.state),
    ["mismatch", "mismatch"],
  );
  const fixed = resignAdhoc(file);
  assert.equal(verifyAdhocSignature(fixed).ok, true);
  assert.equal(diff(file, fixed).length > 0, true);
});

Deno.test("macho_sign: a CMS signature is not re-signed in place; replace writes an ad-hoc one", () => {
  const file = synth({ cms: new Uint8Array(300).fill(0x30) });
  const r = verifyAdhocSignature(file);
  assert.equal(r.ok, false, "the CodeDirectory says ad hoc, yet there is a CMS signature");
  assert.equal(r.adhoc, false);
  assert.equal(r.slices[0].cms, "signed");
  assert.throws(
    () => resignAdhoc(file),
    (e) => e instanceof MachOSignError && /CMS/.test(e.message),
  );
  const fresh = resignAdhoc(file, { replace: true });
  const after = verifyAdhocSignature(fresh);
  assert.deepEqual(after.problems, []);
  assert.equal(after.adhoc, true);
  assert.equal(after.identifier, ADHOC_IDENTIFIER);
  assert.deepEqual(after.hashTypes, ["sha256"]);
  assert.equal(after.slices[0].cms, "empty");
  assert.equal(after.slices[0].codeDirectories[0].flags, 0x2);
  assert.equal(after.slices[0].signatureOffset, r.slices[0].signatureOffset);
  // The code is untouched; in the load commands only the signature's and __LINKEDIT's sizes.
  const sig = r.slices[0].signatureOffset;
  const changed = diff(file.subarray(0, sig), fresh.subarray(0, sig));
  assert.ok(changed.every((i) => (i >= 136 && i < 160) || (i >= 188 && i < 192)), String(changed));
  assert.equal(
    verifyAdhocSignature(resignAdhoc(file, { replace: true, identifier: "infrasim" })).identifier,
    "infrasim",
  );
});

Deno.test("macho_sign: code past codeLimit (Bun's darwin-x64 shape) is found and re-signed", () => {
  const file = synth({ shortBy: 4096 + 100 });
  const r = verifyAdhocSignature(file);
  assert.equal(r.ok, false);
  assert.equal(r.mismatchedPages, 0, "the hashes it has are right");
  assert.equal(r.slices[0].uncoveredBytes, 4096 + 100);
  assert.match(r.problems[0], /unsigned/);
  assert.throws(() => resignAdhoc(file), /covers \d+ bytes, not the \d+ before the signature/);
  const fresh = verifyAdhocSignature(resignAdhoc(file, { replace: true }));
  assert.equal(fresh.ok, true);
  assert.equal(fresh.slices[0].uncoveredBytes, 0);
  assert.equal(fresh.pages, Math.ceil(r.slices[0].signatureOffset / 4096));
});

Deno.test("macho_sign: a universal file: every slice verified and re-signed in place", () => {
  const x = synth({ cpu: X86_64 });
  const a = synth({ cpu: ARM64, textLen: 3 * 4096 + 5, hashTypes: [2] });
  const file = fat([[X86_64, x], [ARM64, a]]);
  const r = verifyAdhocSignature(file);
  assert.equal(r.fat, true);
  assert.equal(r.ok, true);
  assert.deepEqual(r.slices.map((s) => s.arch), ["x86_64", "arm64"]);
  const off = r.slices[1].offset;
  file[off + 4096 + 1] ^= 0x10;
  const bad = verifyAdhocSignature(file);
  assert.equal(bad.mismatchedPages, 1);
  assert.match(bad.problems[0], /^arm64: 1 of 4 page hashes/);
  const fixed = resignAdhoc(file);
  assert.equal(verifyAdhocSignature(fixed).ok, true);
  assert.equal(diff(file, fixed).length > 0, true);
  assert.throws(
    () => resignAdhoc(fat([[X86_64, synth({ shortBy: 10 })]]), { replace: true }),
    /universal/,
  );
});

Deno.test("macho_sign: bad input fails with a short MachOSignError", () => {
  const file = synth({ identifier: "x".repeat(500) });
  const sig = verifyAdhocSignature(file).slices[0].signatureOffset;
  const cases: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["ELF", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0])],
    ["32-bit", new Uint8Array([0xce, 0xfa, 0xed, 0xfe, 7, 0, 0, 0])],
    ["Java class", new Uint8Array([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52])],
    ["truncated", file.subarray(0, sig + 40)],
    ["header only", file.subarray(0, 40)],
  ];
  // Every 32-bit field of the SuperBlob header and index and of the first CodeDirectory's header.
  const dv = new DataView(file.buffer);
  const cd = sig + dv.getUint32(sig + 16);
  for (const at of [sig, sig + 4, sig + 8, sig + 12, sig + 16, sig + 20, sig + 24]) {
    const b = file.slice();
    new DataView(b.buffer).setUint32(at, 0xfffffff0);
    cases.push([`superblob +${at - sig}`, b]);
  }
  for (let at = cd; at < cd + 88; at += 4) {
    for (const v of [0, 0xffffffff, 0x7fff]) {
      const b = file.slice();
      new DataView(b.buffer).setUint32(at, v);
      cases.push([`CodeDirectory +${at - cd} = ${v}`, b]);
    }
  }
  const unsigned = file.slice();
  new DataView(unsigned.buffer).setUint32(176, 0x1b, true); // LC_CODE_SIGNATURE -> LC_UUID
  cases.push(["unsigned", unsigned]);
  let thrown = 0;
  for (const [name, b] of cases) {
    for (const fn of [verifyAdhocSignature, resignAdhoc]) {
      try {
        // Some fields (spare ones, the platform) may change without harm.
        assert.ok(fn(b) instanceof Object, name);
      } catch (e) {
        thrown++;
        assert.ok(e instanceof MachOSignError, `${name}: ${e}`);
        assert.ok(e.message.length < 300, `${name}: ${e.message}`);
        assert.ok(!e.message.includes("x".repeat(50)), `${name}: quotes the input`);
      }
    }
  }
  assert.ok(thrown > cases.length, `${thrown} errors`);
  assert.throws(() => verifyAdhocSignature(unsigned), /no LC_CODE_SIGNATURE/);
});

// The real executables, when a build has left them in dist/.
for (const target of ["x86_64-apple-darwin", "aarch64-apple-darwin"]) {
  const file = join(ROOT, "dist", target, "infrasim");
  Deno.test({
    name: `macho_sign: dist/${target}/infrasim verifies after resignAdhoc`,
    ignore: !existsSync(file) || !existsSync(join(ROOT, "dist/manifest.json")),
    fn: () => {
      const bytes = readFileSync(file);
      const before = verifyAdhocSignature(bytes);
      console.log(
        `${target}: ${before.mismatchedPages} of ${before.pages} page hashes wrong` +
          (before.problems.length ? `; ${before.problems.join("; ")}` : ""),
      );
      assert.ok(before.mismatchedPages >= 0);
      const fixed = resignAdhoc(bytes, { replace: true });
      const after = verifyAdhocSignature(fixed);
      assert.deepEqual(after.problems, []);
      assert.equal(after.mismatchedPages, 0);
      assert.equal(after.adhoc, true);
      assert.ok(after.hashTypes.includes("sha256"));
      // A valid ad-hoc signature is left as it is.
      if (before.ok && before.adhoc) assert.deepEqual(diff(fixed, bytes), []);
    },
  });
}
