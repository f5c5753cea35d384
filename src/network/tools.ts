// Whether this host can carry private networks: the vde2 tools (looked up on each use,
// so installing them needs no daemon restart), and a QEMU built with the vde netdev
// (asked once per binary). A missing part is a FAILED_PRECONDITION saying what to install.
import { execFile } from "node:child_process";
import { failedPrecondition } from "../api/errors.ts";
import { findTool } from "../host/tools.ts";

export interface VdeTools {
  vdeSwitch: string;
  wirefilter: string;
}

const INSTALL = "install vde2 (Debian/Ubuntu: apt install vde2; macOS: brew install vde)";

export function vdeTools(): VdeTools {
  const vdeSwitch = findTool("vde_switch");
  const wirefilter = findTool("wirefilter");
  if (!vdeSwitch || !wirefilter) {
    throw failedPrecondition(
      `private networks need ${
        [!vdeSwitch && "vde_switch", !wirefilter && "wirefilter"]
          .filter(Boolean).join(" and ")
      }, which ${vdeSwitch || wirefilter ? "is" : "are"} not installed: ${INSTALL}`,
    );
  }
  return { vdeSwitch, wirefilter };
}

const netdevs = new Map<string, Promise<string[]>>();

/** The netdev backends a QEMU binary lists (`-netdev help`), asked once per binary. */
function qemuNetdevs(binary: string): Promise<string[]> {
  let p = netdevs.get(binary);
  if (!p) {
    p = new Promise((resolve) =>
      execFile(
        binary,
        ["-machine", "none", "-netdev", "help"],
        { timeout: 10_000 },
        (_e, out) =>
          resolve(String(out ?? "").split("\n").slice(1).map((l) => l.trim()).filter(Boolean)),
      )
    );
    netdevs.set(binary, p);
  }
  return p;
}

/** Refuses a QEMU that cannot plug into a vde switch. */
export async function assertQemuHasVde(binary: string): Promise<void> {
  if ((await qemuNetdevs(binary)).includes("vde")) return;
  netdevs.delete(binary); // ask again next time: it may be reinstalled
  throw failedPrecondition(
    `${binary} has no vde network backend (-netdev help does not list it), so it cannot join ` +
      "private networks: install a QEMU built with vde (Debian's qemu-system packages and " +
      "Homebrew's qemu with vde installed have it)",
  );
}
