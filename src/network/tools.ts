// Whether this host's QEMU can join private networks: the link engine needs the stream
// netdev (QEMU 7.2 and later), asked once per binary. A QEMU without it is a
// FAILED_PRECONDITION saying what to install.
import { execFile } from "node:child_process";
import { failedPrecondition } from "../api/errors.ts";

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

/** Refuses a QEMU that cannot listen for the link engine on a stream socket. */
export async function assertQemuHasStream(binary: string): Promise<void> {
  if ((await qemuNetdevs(binary)).includes("stream")) return;
  netdevs.delete(binary); // ask again next time: it may be upgraded
  throw failedPrecondition(
    `${binary} has no stream network backend (-netdev help does not list it), so it cannot ` +
      "join private networks: install QEMU 7.2 or later",
  );
}
