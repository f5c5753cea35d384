// Finding the host's programs: on PATH, plus Homebrew's prefixes (a daemon started by
// launchd gets a PATH without them).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const EXTRA_BIN_DIRS = ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"];

/** Finds an executable on PATH (plus Homebrew's prefixes). */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...EXTRA_BIN_DIRS];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}
