// The content-addressed store under <data_dir>/images: sha256/<hex> holds each distinct
// content once; tmp/ holds imports under way, so that one interrupted (a client gone,
// a daemon killed) leaves nothing in sha256/ and tmp/ is emptied at the next start.
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";

export interface Ingested {
  hex: string;
  bytes: number;
  tmpPath: string;
}

export class BlobStore {
  readonly sha256Dir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.sha256Dir = join(root, "sha256");
    this.tmpDir = join(root, "tmp");
  }

  blobPath(hex: string): string {
    return join(this.sha256Dir, hex);
  }

  /** Creates the dirs; removes imports a dead daemon left, and blobs no record uses. */
  async init(inUse: (hex: string) => boolean): Promise<number> {
    await mkdir(this.sha256Dir, { recursive: true, mode: 0o700 });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    let unused = 0;
    for (const hex of await readdir(this.sha256Dir)) {
      if (inUse(hex)) continue;
      await rm(this.blobPath(hex), { force: true });
      unused++;
    }
    return unused;
  }

  /**
   * Copies chunks into a temporary file, hashing them; the caller commits or discards.
   * A stream pipeline, so that reading, hashing and writing overlap.
   */
  async ingest(
    chunks: AsyncIterable<Uint8Array>,
    onBytes: (done: number) => void,
  ): Promise<Ingested> {
    const tmpPath = join(this.tmpDir, randomUUID());
    const hash = createHash("sha256");
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Uint8Array, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        onBytes(bytes);
        done(null, chunk);
      },
    });
    const out = createWriteStream(tmpPath, { flags: "wx", mode: 0o600, highWaterMark: 4 << 20 });
    try {
      await pipeline(Readable.from(chunks, { objectMode: false }), tap, out);
    } catch (e) {
      await rm(tmpPath, { force: true });
      throw e;
    }
    return { hex: hash.digest("hex"), bytes, tmpPath };
  }

  /** Moves an ingested file to its digest's place; content already there is kept. */
  async commit(ing: Ingested): Promise<string> {
    const dest = this.blobPath(ing.hex);
    if (await stat(dest).catch(() => undefined)) await rm(ing.tmpPath, { force: true });
    else await rename(ing.tmpPath, dest);
    return dest;
  }

  discard(ing: Ingested): Promise<void> {
    return rm(ing.tmpPath, { force: true });
  }

  remove(hex: string): Promise<void> {
    return rm(this.blobPath(hex), { force: true });
  }
}
