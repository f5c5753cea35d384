// Writing a seed as an ISO 9660 image labelled "cidata", with a real tool: xorriso or
// genisoimage on Linux, hdiutil (built into macOS) on a Mac. Command lines are pure.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fieldError, Status } from "../api/errors.ts";
import { findTool } from "../host/tools.ts";
import type { SeedFiles } from "./seed.ts";

export interface IsoTool {
  kind: "xorriso" | "genisoimage" | "hdiutil";
  path: string;
}

export function findIsoTool(platform = process.platform): IsoTool | undefined {
  if (platform === "darwin") {
    const p = findTool("hdiutil");
    if (p) return { kind: "hdiutil", path: p };
  }
  for (const kind of ["xorriso", "genisoimage"] as const) {
    const p = findTool(kind);
    if (p) return { kind, path: p };
  }
  return undefined;
}

export function isoArgs(tool: IsoTool["kind"], dir: string, out: string): string[] {
  switch (tool) {
    case "xorriso":
      return [
        "-as",
        "mkisofs",
        "-quiet",
        "-output",
        out,
        "-volid",
        "cidata",
        "-joliet",
        "-rock",
        dir,
      ];
    case "genisoimage":
      return ["-quiet", "-output", out, "-volid", "cidata", "-joliet", "-rock", dir];
    case "hdiutil":
      return [
        "makehybrid",
        "-quiet",
        "-o",
        out,
        "-iso",
        "-joliet",
        "-default-volume-name",
        "cidata",
        dir,
      ];
  }
}

const INSTALL_HINT = process.platform === "darwin"
  ? "hdiutil (part of macOS) was not found"
  : "install xorriso (Debian: apt-get install xorriso) or genisoimage";

/** Writes the seed to `out` atomically (a temporary dir next to it, then a rename). */
export async function writeSeed(files: SeedFiles, out: string, timeoutMs = 30_000): Promise<void> {
  const tool = findIsoTool();
  if (!tool) {
    throw fieldError(
      Status.FAILED_PRECONDITION,
      "spec.cloud_init",
      `cannot build the seed: ${INSTALL_HINT}`,
    );
  }
  const tmp = await mkdtemp(join(dirname(out), ".seed-"));
  try {
    const dir = join(tmp, "files");
    await mkdir(dir, { mode: 0o700 });
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(dir, name), text, { mode: 0o600 });
    }
    const iso = join(tmp, "seed.iso");
    await new Promise<void>((resolve, reject) =>
      execFile(
        tool.path,
        isoArgs(tool.kind, dir, iso),
        { timeout: timeoutMs },
        (err, _o, stderr) =>
          err
            ? reject(
              new Error(`${tool.kind}: ${String(stderr).trim().split("\n").pop() || err.message}`),
            )
            : resolve(),
      )
    );
    await rename(iso, out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
