// The data dir's lock: taken whole, refused while its daemon lives, taken over from a
// dead one (also from one that died before writing it), released only by its holder.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockDataDir } from "../../src/daemon/instance.ts";
import { processStartTime } from "../../src/process/os.ts";

function withDir(fn: (dir: string) => void): () => void {
  return () => {
    const dir = mkdtempSync("/tmp/isl-");
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const lock = (dir: string) => join(dir, "infrasimd.lock");
const me = () => `${process.pid} ${processStartTime(process.pid)}\n`;

Deno.test(
  "lock: taken whole, released by its holder, nothing left beside it",
  withDir((dir) => {
    const release = lockDataDir(dir);
    assert.equal(readFileSync(lock(dir), "utf8"), me());
    assert.deepEqual(readdirSync(dir), ["infrasimd.lock"]);
    release();
    assert.equal(existsSync(lock(dir)), false);
  }),
);

Deno.test(
  "lock: refused while the daemon holding it lives",
  withDir((dir) => {
    writeFileSync(lock(dir), me()); // this very process: alive, same start time
    assert.throws(() => lockDataDir(dir), /another infrasimd is already serving .* \(pid \d+\)/);
    assert.equal(readFileSync(lock(dir), "utf8"), me(), "the holder's lock is kept");
    assert.deepEqual(readdirSync(dir), ["infrasimd.lock"]);
  }),
);

Deno.test(
  "lock: a dead daemon's, or an empty one, is taken over",
  withDir((dir) => {
    for (const stale of [`${process.pid} 1\n`, "", "garbage"]) {
      writeFileSync(lock(dir), stale);
      const release = lockDataDir(dir);
      assert.equal(readFileSync(lock(dir), "utf8"), me());
      assert.deepEqual(readdirSync(dir), ["infrasimd.lock"], "no file left aside");
      release();
    }
  }),
);
