// Progress of long operations on stderr: an import's bytes, and memory saves followed
// on the daemon's change feed (a snapshot's or a checkpoint's, whose call returns only at
// the end).
import type { InfrasimClient } from "../api/client.ts";
import type * as T from "../api/gen/infrasim.v1.ts";
import { bytes } from "./output.ts";
import { follow } from "./watch.ts";

/** Progress on stderr: a bar on a terminal (cli-progress), a line every 2 s otherwise. */
export async function progressReporter(name: string) {
  if (process.stderr.isTTY) {
    const { default: progress } = await import("cli-progress");
    const bar = new progress.SingleBar({
      format: `${name} [{bar}] {percentage}% | {done} of {size}`,
      stream: process.stderr,
      hideCursor: true,
    }, progress.Presets.shades_classic);
    let started = false;
    return {
      update(done: number, total: number) {
        if (!started) bar.start(total || done, 0, { done: bytes(0), size: "?" });
        started = true;
        if (total) bar.setTotal(total);
        bar.update(done, { done: bytes(done), size: total ? bytes(total) : "?" });
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = 0;
  let pending = "";
  return {
    update(done: number, total: number) {
      const of = total ? ` of ${bytes(total)} (${Math.floor((done / total) * 100)}%)` : "";
      pending = `${name}: ${bytes(done)}${of}\n`;
      if (Date.now() - last < 2000) return;
      last = Date.now();
      process.stderr.write(pending);
      pending = "";
    },
    // The final figure, whenever the last line was older.
    stop: () => {
      if (pending) process.stderr.write(pending);
      pending = "";
    },
  };
}

/**
 * Shows the memory saves of the snapshots `pick` chooses (those with this label selector)
 * as one progress figure, until stop().
 */
export async function showSaves(
  client: InfrasimClient,
  title: string,
  labelSelector: string,
  pick: (s: T.Snapshot) => boolean,
): Promise<{ stop(): void }> {
  const bar = await progressReporter(title);
  const saves = new Map<string, { done: number; total: number }>();
  const f = follow(client, { kinds: ["SNAPSHOT"], label_selector: labelSelector }, (e) => {
    const s = e.snapshot;
    if (!s || e.type === "DELETED" || s.status?.state !== "SNAPSHOT_CREATING" || !pick(s)) return;
    if (!s.status.progress_total_bytes) return;
    saves.set(s.meta!.id, { done: s.status.progress_bytes, total: s.status.progress_total_bytes });
    let done = 0, total = 0;
    for (const v of saves.values()) (done += v.done, total += v.total);
    bar.update(done, total);
  });
  f.done.catch(() => {}); // progress is a courtesy: the call itself says how it went
  return {
    stop() {
      f.stop();
      bar.stop();
    },
  };
}
