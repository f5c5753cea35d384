// qemu-img: command lines built by pure functions, run with a timeout.
import { execFile } from "node:child_process";

/** `qemu-img info` as JSON; -U reads an image another process may hold open. */
export function infoArgs(path: string): string[] {
  return ["info", "--output=json", "-U", path];
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
}

/** Runs qemu-img; rejects with its last stderr line, or after timeoutMs. */
export function runQemuImg(bin: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const why = String(stderr).trim().split("\n").pop() || err.message;
      reject(new Error(`qemu-img ${args[0]}: ${why.slice(0, 300)}`));
    });
  });
}

export function parseInfo(json: string): ImageInfo {
  const o = JSON.parse(json) as {
    format?: string;
    "virtual-size"?: number;
    "actual-size"?: number;
  };
  if (typeof o.format !== "string" || typeof o["virtual-size"] !== "number") {
    throw new Error("qemu-img info gave no format or virtual size");
  }
  return { format: o.format, virtualSize: o["virtual-size"], actualSize: o["actual-size"] ?? 0 };
}

/**
 * A qcow2 volume: blank, or an overlay whose backing file is an image (its format
 * given, never probed: a probed raw backing file could claim to be anything).
 */
export function createArgs(
  path: string,
  sizeBytes: number | undefined,
  backing?: { path: string; format: string },
): string[] {
  const args = ["create", "-q", "-f", "qcow2"];
  if (backing) args.push("-F", backing.format, "-b", backing.path);
  args.push(path);
  if (sizeBytes !== undefined) args.push(String(sizeBytes));
  return args;
}

/** Grows a volume that no QEMU holds open (a running VM's grows through QMP block_resize). */
export function resizeArgs(path: string, sizeBytes: number): string[] {
  return ["resize", "-q", "-f", "qcow2", path, String(sizeBytes)];
}

/**
 * Internal snapshots of a qcow2 file no QEMU holds open: create, apply (roll back to) or
 * delete. `snapshot` takes no -f, so the format is pinned through --image-opts (commas in
 * the path doubled), never probed.
 */
export function snapshotArgs(op: "create" | "apply" | "delete", tag: string, path: string) {
  const flag = { create: "-c", apply: "-a", delete: "-d" }[op];
  const opts = `driver=qcow2,file.driver=file,file.filename=${path.replaceAll(",", ",,")}`;
  return ["snapshot", "-q", "--image-opts", flag, tag, opts];
}

/** The internal snapshots `qemu-img info --output=json` lists, with their saved RAM size. */
export function parseSnapshots(json: string): Array<{ name: string; vmStateSize: number }> {
  const o = JSON.parse(json) as { snapshots?: Array<{ name: string; "vm-state-size": number }> };
  return (o.snapshots ?? []).map((s) => ({ name: s.name, vmStateSize: s["vm-state-size"] ?? 0 }));
}
