// Paths that come from users are checked before QEMU sees them: absolute, existing, a
// regular readable file on a real file system (not /proc, /sys or /dev, where a read
// can block for ever), and not inside the daemon's data dir. Every check is
// asynchronous and has a timeout, so no user path can stall the daemon's event loop.
// Shared by the daemon (authoritative) and the provider (early, so Terraform can point
// at the line).
import { access, constants, open, realpath, stat, statfs } from "node:fs/promises";
import { sep } from "node:path";
import { ApiError, invalid, quote } from "../api/errors.ts";
import { validatePathSyntax } from "../api/validate/common.ts";
import { TimeoutError, withTimeout } from "../timeout.ts";

const CHECK_TIMEOUT_MS = 5000;

/** Pseudo file systems (statfs f_type) whose files are not disk images or kernels. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: "procfs",
  0x62656572: "sysfs",
  0x64626720: "debugfs",
  0x74726163: "tracefs",
  0x73636673: "securityfs",
  0x63677270: "cgroup2",
  0x27e0eb: "cgroup",
  0x62656570: "configfs",
  0xde5e81e4: "efivarfs",
  0xcafe4a11: "bpf",
  0x6165676c: "pstorefs",
  0x65735543: "fusectl",
  0x1cd1: "devpts",
};
const PSEUDO_DIRS = ["/proc", "/sys", "/dev"];

/** The resolved real path of a user file that passed every check. */
export async function checkUserFile(
  path: string,
  field: string,
  dataDir: string,
  opts: { writable?: boolean } = {},
): Promise<string> {
  validatePathSyntax(path, field);
  const q = quote(path);
  // A path that does not answer (a hung network mount) is the caller's problem, said so.
  const step = <R>(op: Promise<R>) =>
    withTimeout(op, CHECK_TIMEOUT_MS, q).catch((e) => {
      throw e instanceof TimeoutError ? invalid(field, e.message) : e;
    });
  let real: string;
  try {
    real = await step(realpath(path));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw invalid(field, `${q}: no such file`);
  }
  if (PSEUDO_DIRS.some((d) => real === d || real.startsWith(d + sep))) {
    throw invalid(field, `${q}: not a regular file on a real file system (special file system)`);
  }
  const st = await step(stat(real));
  if (!st.isFile()) throw invalid(field, `${q}: not a regular file`);
  if (process.platform === "linux") {
    const fs = PSEUDO_FS[Number((await step(statfs(real))).type)];
    if (fs) {
      throw invalid(
        field,
        `${q}: not a regular file on a real file system (special file system ${fs})`,
      );
    }
  }
  try {
    await step(access(real, constants.R_OK | (opts.writable ? constants.W_OK : 0)));
  } catch {
    throw invalid(field, `${q}: not ${opts.writable ? "writable" : "readable"} by infrasimd`);
  }
  if (real === dataDir || real.startsWith(dataDir + sep)) {
    throw invalid(field, `${q}: must not be inside infrasimd's data dir`);
  }
  return real;
}

/** "qcow2" if the file starts with the qcow2 magic, else "raw"; read with a timeout. */
export async function detectDiskFormat(path: string, field: string): Promise<"qcow2" | "raw"> {
  const read = async () => {
    const fh = await open(path, "r");
    try {
      const buf = new Uint8Array(4);
      await fh.read(buf, 0, 4, 0);
      return buf;
    } finally {
      await fh.close();
    }
  };
  const buf = await withTimeout(read(), CHECK_TIMEOUT_MS, quote(path)).catch((e) => {
    throw e instanceof TimeoutError ? invalid(field, e.message) : e;
  });
  return buf[0] === 0x51 && buf[1] === 0x46 && buf[2] === 0x49 && buf[3] === 0xfb ? "qcow2" : "raw";
}
