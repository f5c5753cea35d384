// The files a snapshot lives in, as qemu-img sees them when no QEMU holds them: the VM's
// state file (its RAM and device state, one internal snapshot each) and its disks.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { failedPrecondition } from "../../../api/errors.ts";
import {
  createArgs,
  infoArgs,
  parseInfo,
  parseSnapshots,
  runQemuImg,
  snapshotArgs,
} from "../../../qemu/img.ts";
import { withTimeout } from "../../../timeout.ts";

/** qemu-img on a file of a multi-GiB disk: bounded, but not short. */
const IMG_TIMEOUT_MS = 120_000;

export class SnapshotFiles {
  constructor(private readonly qemuImg: string | undefined) {}

  tool(): string {
    if (!this.qemuImg) {
      throw failedPrecondition(
        "qemu-img is not installed (Debian: qemu-utils; macOS: brew install qemu)",
      );
    }
    return this.qemuImg;
  }

  /** <vm dir>/state.qcow2: holds no disk data, only saved RAM and device state. */
  statePath(vmDir: string): string {
    return join(vmDir, "state.qcow2");
  }

  async ensureStateFile(vmDir: string): Promise<string> {
    const path = this.statePath(vmDir);
    if (!(await this.exists(path))) {
      await runQemuImg(this.tool(), createArgs(path, 1024 * 1024), IMG_TIMEOUT_MS);
    }
    return path;
  }

  exists(path: string): Promise<boolean> {
    return withTimeout(stat(path), 5000, path).then(() => true, () => false);
  }

  async format(path: string): Promise<string> {
    return parseInfo(await runQemuImg(this.tool(), infoArgs(path))).format;
  }

  /** Takes the snapshot in every file; on a failure, the ones already made are removed. */
  async create(tag: string, paths: string[]): Promise<void> {
    const made: string[] = [];
    try {
      for (const p of paths) {
        await runQemuImg(this.tool(), snapshotArgs("create", tag, p), IMG_TIMEOUT_MS);
        made.push(p);
      }
    } catch (e) {
      await this.remove(tag, made).catch(() => {});
      throw e;
    }
  }

  async apply(tag: string, paths: string[]): Promise<void> {
    for (const p of paths) {
      await runQemuImg(this.tool(), snapshotArgs("apply", tag, p), IMG_TIMEOUT_MS);
    }
  }

  /** Removes the snapshot from every file that has it; a file without it is skipped. */
  async remove(tag: string, paths: string[]): Promise<void> {
    for (const p of paths) {
      if (!(await this.exists(p))) continue;
      const info = await runQemuImg(this.tool(), infoArgs(p));
      if (!parseSnapshots(info).some((s) => s.name === tag)) continue;
      await runQemuImg(this.tool(), snapshotArgs("delete", tag, p), IMG_TIMEOUT_MS);
    }
  }

  /** The saved RAM and device state of a snapshot in the state file (0 when none). */
  async memoryBytes(vmDir: string, tag: string): Promise<number> {
    const info = await runQemuImg(this.tool(), infoArgs(this.statePath(vmDir)));
    return parseSnapshots(info).find((s) => s.name === tag)?.vmStateSize ?? 0;
  }
}
