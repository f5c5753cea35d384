// One infrasimd per data dir: a lock file, created whole by link(), holds the daemon's
// pid and start time. A second daemon, started even at the same moment, finds it and
// stops before it touches any VM; a lock left by a killed daemon is taken over.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processStartTime, sameProcess } from "../process/os.ts";

const LOCK = "infrasimd.lock";

/** Takes the data dir's lock; throws naming the live daemon that holds it. */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK);
  const me = `${process.pid} ${processStartTime(process.pid)}\n`;
  // The lock appears whole: written aside, then linked in (link fails if it exists). A
  // lock created empty and written after could be read empty by a daemon starting at
  // the same moment, taken for a dead one's and removed, and then two would run.
  const mine = join(dataDir, `${LOCK}.${process.pid}`);
  writeFileSync(mine, me, { mode: 0o600 });
  try {
    return take(path, mine, me, dataDir);
  } finally {
    rmSync(mine, { force: true });
  }
}

function take(path: string, mine: string, me: string, dataDir: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      linkSync(mine, path);
      // Released on exit only if still ours.
      return () => {
        try {
          if (readFileSync(path, "utf8") === me) rmSync(path, { force: true });
        } catch { /* gone */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let held: string;
    try {
      held = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
      throw e;
    }
    const [pid, start] = held.trim().split(" ");
    if (sameProcess(Number(pid), start ?? "")) {
      throw new Error(`another infrasimd is already serving ${dataDir} (pid ${pid})`);
    }
    // Its daemon is gone (killed): take over. Two starting daemons may both judge it so;
    // each moves it aside first, and one that moved a lock made meanwhile by the other
    // puts it back and gives way, so neither removes the lock the other holds.
    const aside = `${path}.${process.pid}.stale`;
    try {
      renameSync(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    const moved = readFileSync(aside, "utf8");
    if (moved !== held) {
      try {
        linkSync(aside, path);
      } finally {
        rmSync(aside, { force: true });
      }
      throw new Error(`another infrasimd took over ${dataDir} at the same moment`);
    }
    rmSync(aside, { force: true });
  }
  throw new Error(`${path}: another infrasimd took the lock at the same moment`);
}
