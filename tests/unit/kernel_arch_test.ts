// The kernel arch detector: the real test guests' kernels, synthetic headers of each
// recognised kind, and what it must leave unknown.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  checkKernelArch,
  HEADER_BYTES,
  kernelArch,
  kernelArchOfHeader,
} from "../../src/host/kernel_arch.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

const GUESTS = new URL("../../.cache/guests", import.meta.url).pathname;
const guestKernel = (arch: string) => join(GUESTS, arch, "kernel");

/** A header of n zero bytes with text written at offset. */
function header(offset: number, text: string | number[], n = HEADER_BYTES): Uint8Array {
  const b = new Uint8Array(n);
  b.set(typeof text === "string" ? [...text].map((c) => c.charCodeAt(0)) : text, offset);
  return b;
}

function elf(machine: number, bigEndian = false): Uint8Array {
  const b = header(0, [0x7f, 0x45, 0x4c, 0x46, 2, bigEndian ? 2 : 1, 1], 64);
  b.set(bigEndian ? [machine >> 8, machine & 0xff] : [machine & 0xff, machine >> 8], 18);
  return b;
}

for (const arch of ["x86_64", "aarch64"] as const) {
  Deno.test({
    name: `the ${arch} test guest's kernel is recognised as ${arch}`,
    ignore: !existsSync(guestKernel(arch)),
    fn: async () => assert.equal(await kernelArch(guestKernel(arch)), arch),
  });
}

Deno.test("synthetic headers: bzImage, ELF (both byte orders), arm64 Image", () => {
  assert.equal(kernelArchOfHeader(header(0x202, "HdrS")), "x86_64");
  assert.equal(kernelArchOfHeader(elf(62)), "x86_64");
  assert.equal(kernelArchOfHeader(elf(183)), "aarch64");
  assert.equal(kernelArchOfHeader(elf(183, true)), "aarch64");
  assert.equal(kernelArchOfHeader(header(56, "ARM\x64")), "aarch64");
  // An arm64 Image and an x86 bzImage both start with "MZ" (their EFI stub).
  const image = header(56, "ARM\x64");
  image.set([0x4d, 0x5a], 0);
  assert.equal(kernelArchOfHeader(image), "aarch64");
});

Deno.test("unknown: other ELF machines, gzip, short or empty files, random bytes", () => {
  assert.equal(kernelArchOfHeader(elf(3)), undefined, "i386");
  assert.equal(kernelArchOfHeader(elf(40)), undefined, "32-bit ARM");
  assert.equal(kernelArchOfHeader(gzipSync(header(0x202, "HdrS"))), undefined);
  assert.equal(kernelArchOfHeader(new Uint8Array()), undefined);
  assert.equal(kernelArchOfHeader(header(0, "\x7fELF", 8)), undefined, "truncated ELF");
  assert.equal(kernelArchOfHeader(header(0x200, "HdrS", 0x204)), undefined, "cut off magic");
  assert.equal(kernelArchOfHeader(header(0, "#!/bin/sh\n")), undefined);
});

Deno.test("checkKernelArch: a mismatch names the field, both arches and the --arch fix", async () => {
  const dir = mkdtempSync("/tmp/iska-");
  try {
    const arm = join(dir, "Image");
    writeFileSync(arm, header(56, "ARM\x64"));
    await assert.rejects(checkKernelArch(arm, "x86_64", "spec.boot.kernel.kernel_path"), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, Status.INVALID_ARGUMENT);
      assert.equal(
        e.message,
        `spec.boot.kernel.kernel_path: "${arm}" is an aarch64 kernel but the VM is x86_64 ` +
          "(--arch defaults to the host's; pass --arch aarch64)",
      );
      return true;
    });
    await checkKernelArch(arm, "aarch64", "f");
    const unknown = join(dir, "vmlinuz.gz");
    writeFileSync(unknown, gzipSync(new Uint8Array(4096)));
    await checkKernelArch(unknown, "x86_64", "f");
    await checkKernelArch(unknown, "aarch64", "f");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
