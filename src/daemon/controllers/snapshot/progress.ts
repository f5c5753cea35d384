// How far a memory save has come. QEMU writes the RAM on its main loop, so its QMP says
// nothing until the end; what it has written is read from outside: the QEMU process's
// written bytes (/proc on Linux), else the growth of the state file's allocated blocks
// (which stays flat while the file reuses space of deleted snapshots).
import { stat } from "node:fs/promises";
import { processWrittenBytes } from "../../../process/usage.ts";
import { withTimeout } from "../../../timeout.ts";

/** Four times a second: each report is a status change that every watcher receives. */
const EVERY_MS = 250;

async function written(pid: number, stateFile: string): Promise<number> {
  const byProcess = await processWrittenBytes(pid).catch(() => undefined);
  if (byProcess !== undefined) return byProcess;
  const st = await withTimeout(stat(stateFile), 2000, stateFile);
  return st.blocks * 512;
}

/**
 * Starts following a save about to begin; report() gets the bytes written since, while
 * they grow. Returns the stop (awaited: no report comes after it).
 */
export async function followSave(
  pid: number,
  stateFile: string,
  report: (bytes: number) => void,
): Promise<() => Promise<void>> {
  const base = await written(pid, stateFile).catch(() => undefined);
  if (base === undefined) return () => Promise.resolve();
  let last = 0, stopped = false;
  let wake = () => {};
  const loop = (async () => {
    while (!stopped) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, EVERY_MS);
        wake = () => (clearTimeout(t), r());
      });
      if (stopped) return;
      const now = await written(pid, stateFile).catch(() => undefined);
      if (now !== undefined && now - base > last && !stopped) report(last = now - base);
    }
  })();
  return async () => {
    stopped = true;
    wake();
    await loop;
  };
}
