// The CPU architecture a kernel image was built for, from its first bytes. A kernel for
// the other arch makes QEMU start and then hang or print nothing, which looks like a
// broken guest; a newcomer who left --arch at the host's default gets a message instead.
// Read asynchronously with a timeout, like every check of a user's file.
import { open } from "node:fs/promises";
import { invalid, quote } from "../api/errors.ts";
import type { Arch } from "../api/validate/common.ts";
import { TimeoutError, withTimeout } from "../timeout.ts";

/** Enough for every signature below (the bzImage one ends at 0x206). */
export const HEADER_BYTES = 1024;
const READ_TIMEOUT_MS = 5000;

const ELF_MACHINES: Record<number, Arch> = { 62: "x86_64", 183: "aarch64" };

const at = (b: Uint8Array, offset: number, text: string) =>
  b.length >= offset + text.length &&
  [...text].every((c, i) => b[offset + i] === c.charCodeAt(0));

/**
 * The arch of a kernel from its header: an x86 bzImage ("HdrS" at 0x202), an ELF
 * vmlinux (e_machine), an arm64 Image ("ARM\x64" at 56). Undefined when not recognised,
 * compressed images (gzip) included: those are left for QEMU to judge.
 */
export function kernelArchOfHeader(b: Uint8Array): Arch | undefined {
  if (at(b, 0, "\x7fELF") && b.length >= 20) {
    // EI_DATA (byte 5): 1 little-endian, 2 big-endian; e_machine is the u16 at 18.
    const machine = b[5] === 2 ? (b[18] << 8) | b[19] : b[18] | (b[19] << 8);
    return ELF_MACHINES[machine];
  }
  if (at(b, 0x202, "HdrS")) return "x86_64";
  if (at(b, 56, "ARM\x64")) return "aarch64";
  return undefined;
}

/** The arch of the kernel file at path, or undefined when its header is not recognised. */
export async function kernelArch(path: string, timeoutMs = READ_TIMEOUT_MS): Promise<
  Arch | undefined
> {
  const read = async () => {
    const fh = await open(path, "r");
    try {
      const buf = new Uint8Array(HEADER_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  };
  return kernelArchOfHeader(await withTimeout(read(), timeoutMs, quote(path)));
}

/** Refuses a kernel that is recognisably built for another arch than the VM's. */
export async function checkKernelArch(path: string, vmArch: Arch, field: string): Promise<void> {
  let arch: Arch | undefined;
  try {
    arch = await kernelArch(path);
  } catch (e) {
    if (e instanceof TimeoutError) throw invalid(field, e.message);
    throw invalid(field, `${quote(path)}: cannot read its header (${(e as Error).message})`);
  }
  if (arch && arch !== vmArch) {
    throw invalid(
      field,
      `${quote(path)} is an ${arch} kernel but the VM is ${vmArch} ` +
        `(--arch defaults to the host's; pass --arch ${arch})`,
    );
  }
}
