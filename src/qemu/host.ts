// What this host offers QEMU: binaries and versions, the accelerator to use per
// guest arch, and edk2 firmware. Probed once at daemon start.
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { findTool } from "../host/tools.ts";
import { type Accelerator, type Arch, ARCHES } from "../api/validate/common.ts";
import { hostArch } from "../api/arch.ts";

/** Finds qemu-system-<arch> on PATH (plus Homebrew's prefixes). */
export function findQemuBinary(arch: Arch): string | undefined {
  return findTool(`qemu-system-${arch}`);
}

export function qemuVersion(binary: string): string {
  try {
    const out = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 });
    return out.match(/version\s+(\S+)/)?.[1] ?? out.split("\n")[0];
  } catch (e) {
    return `unusable: ${(e as Error).message.split("\n")[0]}`;
  }
}

/**
 * Whether /dev/kvm can really run guests. On x86 it needs vmx/svm in cpuinfo; a
 * paravirtual nested KVM (kvm_pvm) exposes /dev/kvm but cannot boot real guests.
 */
export function kvmUsable(): boolean {
  if (process.platform !== "linux") return false;
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  if (existsSync("/sys/module/kvm_pvm")) return false;
  if (process.arch === "x64") {
    try {
      return /\b(vmx|svm)\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
    } catch {
      return false;
    }
  }
  return true;
}

/** The accelerator for a guest arch: hvf on macOS, kvm where usable, else tcg. */
export function defaultAccelerator(guest: Arch, kvm = kvmUsable()): Accelerator {
  if (guest !== hostArch()) return "tcg";
  if (process.platform === "darwin") return "hvf";
  if (kvm) return "kvm";
  return "tcg";
}

export interface Firmware {
  code: string;
  vars: string;
}

const FIRMWARE: Record<Arch, Array<[string, string]>> = {
  x86_64: [
    ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"],
    ["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"],
    ["/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"],
    ["/opt/homebrew/share/qemu/edk2-x86_64-code.fd", "/opt/homebrew/share/qemu/edk2-i386-vars.fd"],
    ["/usr/local/share/qemu/edk2-x86_64-code.fd", "/usr/local/share/qemu/edk2-i386-vars.fd"],
    ["/usr/share/qemu/edk2-x86_64-code.fd", "/usr/share/qemu/edk2-i386-vars.fd"],
  ],
  aarch64: [
    ["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"],
    [
      "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
      "/usr/share/edk2/aarch64/vars-template-pflash.raw",
    ],
    ["/opt/homebrew/share/qemu/edk2-aarch64-code.fd", "/opt/homebrew/share/qemu/edk2-arm-vars.fd"],
    ["/usr/local/share/qemu/edk2-aarch64-code.fd", "/usr/local/share/qemu/edk2-arm-vars.fd"],
    ["/usr/share/qemu/edk2-aarch64-code.fd", "/usr/share/qemu/edk2-arm-vars.fd"],
  ],
};

/** edk2 firmware for UEFI disk boot, from Debian, Fedora or Homebrew paths. */
export function findFirmware(arch: Arch, binary?: string): Firmware | undefined {
  const candidates = [...FIRMWARE[arch]];
  // Homebrew and source builds keep firmware in <prefix>/share/qemu beside bin/.
  if (binary) {
    const share = join(dirname(dirname(binary)), "share/qemu");
    candidates.push([
      join(share, `edk2-${arch}-code.fd`),
      join(share, arch === "x86_64" ? "edk2-i386-vars.fd" : "edk2-arm-vars.fd"),
    ]);
  }
  for (const [code, vars] of candidates) {
    if (existsSync(code) && existsSync(vars)) return { code, vars };
  }
  return undefined;
}

export interface HostInfo {
  binaries: Partial<Record<Arch, { path: string; version: string }>>;
  /** The accelerator each guest arch gets by default. */
  accelerators: Record<Arch, Accelerator>;
  kvm: boolean;
  /** qemu-img, which reads image formats and creates volumes. */
  qemuImg?: string;
}

/** Why an accelerator cannot run a guest arch here, or undefined if it can. */
export function acceleratorProblem(
  acc: Accelerator,
  guest: Arch,
  kvm: boolean,
): string | undefined {
  if (acc === "tcg") return undefined;
  if (guest !== hostArch()) return `${acc} cannot run ${guest} guests on a ${hostArch()} host`;
  if (acc === "hvf" && process.platform !== "darwin") return "hvf is only available on macOS";
  if (acc === "kvm" && !kvm) {
    return "kvm is not usable on this host (/dev/kvm missing or not able to run guests)";
  }
  return undefined;
}

/** Probes binaries and accelerators; overrides come from the daemon config. */
export function probeHost(
  overrides: { binaries?: Partial<Record<Arch, string>>; accelerator?: Accelerator | "auto" } = {},
): HostInfo {
  const kvm = kvmUsable();
  const binaries: HostInfo["binaries"] = {};
  const accelerators = {} as Record<Arch, Accelerator>;
  for (const arch of ARCHES) {
    const path = overrides.binaries?.[arch] || findQemuBinary(arch);
    if (path) binaries[arch] = { path, version: qemuVersion(path) };
    // A configured accelerator applies where it can run; foreign arches stay on tcg.
    const forced = overrides.accelerator && overrides.accelerator !== "auto"
      ? overrides.accelerator
      : undefined;
    accelerators[arch] = forced && !acceleratorProblem(forced, arch, kvm)
      ? forced
      : defaultAccelerator(arch, kvm);
  }
  return { binaries, accelerators, kvm, qemuImg: findTool("qemu-img") };
}
