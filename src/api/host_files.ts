// Paths that come from users are checked before QEMU sees them: absolute, existing,
// a regular readable file, and not inside the daemon's data dir. Shared by the daemon
// (authoritative) and the provider (early, so Terraform can point at the line).
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { sep } from "node:path";
import { invalid } from "./errors.ts";
import { validatePathSyntax } from "./validate.ts";

export function checkUserFile(
  path: string,
  field: string,
  dataDir: string,
  opts: { writable?: boolean } = {},
): string {
  validatePathSyntax(path, field);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw invalid(field, `${path}: no such file`);
  }
  const st = statSync(real);
  if (!st.isFile()) throw invalid(field, `${path}: not a regular file`);
  try {
    accessSync(real, constants.R_OK | (opts.writable ? constants.W_OK : 0));
  } catch {
    throw invalid(field, `${path}: not ${opts.writable ? "writable" : "readable"} by infrasimd`);
  }
  if (real === dataDir || real.startsWith(dataDir + sep)) {
    throw invalid(field, `${path}: must not be inside infrasimd's data dir`);
  }
  return real;
}

/** "qcow2" if the file starts with the qcow2 magic, else "raw". */
export function detectDiskFormat(path: string): "qcow2" | "raw" {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(4);
    readSync(fd, buf, 0, 4, 0);
    return buf[0] === 0x51 && buf[1] === 0x46 && buf[2] === 0x49 && buf[3] === 0xfb
      ? "qcow2"
      : "raw";
  } finally {
    closeSync(fd);
  }
}
