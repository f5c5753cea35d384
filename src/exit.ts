// Exiting without losing output: process.exit() drops what a pipe has not taken yet
// (a late reader got 64 KiB of a 200-VM listing). Bun reports nothing pending even
// then, so stdout and stderr are ended, and the exit waits for both to be flushed.
import type { Writable } from "node:stream";

function flush(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.end(() => resolve());
    } catch {
      resolve(); // a stream that cannot be ended has nothing buffered
    }
  });
}

export async function drainAndExit(code: number): Promise<never> {
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}
