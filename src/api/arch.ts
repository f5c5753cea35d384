// The host's CPU architecture in QEMU's words, shared by the daemon, the CLI and the
// provider (each defaults a VM's arch to it).
import type { Arch } from "./validate/common.ts";

/** "x86_64" or "aarch64" for the hosts QEMU runs guests on; the raw name otherwise. */
export function hostArch(): string {
  return process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch;
}

/** The default guest arch: the host's, or x86_64 on a host that is neither. */
export function defaultArch(): Arch {
  return hostArch() === "aarch64" ? "aarch64" : "x86_64";
}
