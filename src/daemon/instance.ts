// One infrasimd per data dir: a lock file created with O_EXCL holds the daemon's pid
// and start time. A second daemon, started even at the same moment, finds it and
// stops before it touches any VM; a lock left by a killed daemon is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { processStartTime, sameProcess } from "../process/os.ts";

const LOCK = "infrasimd.lock";

/** Takes the data dir's lock; throws naming the live daemon that holds it. */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK);
  const me = `${process.pid} ${processStartTime(process.pid)}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      // Released on exit only if still ours.
      return () => {
        try {
          if (readFileSync(path, "utf8") === me) rmSync(path, { force: true });
        } catch { /* gone */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const [pid, start] = readFileSync(path, "utf8").trim().split(" ");
    if (sameProcess(Number(pid), start ?? "")) {
      throw new Error(`another infrasimd is already serving ${dataDir} (pid ${pid})`);
    }
    rmSync(path, { force: true }); // its daemon is gone (killed): take over
  }
  throw new Error(`${path}: another infrasimd took the lock at the same moment`);
}
