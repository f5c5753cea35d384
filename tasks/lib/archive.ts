// Reproducible release archives: entries sorted, fixed mtime, uid/gid 0, no user
import { Buffer } from "node:buffer";
// names (tar "portable"), and gzip without a timestamp. Two builds of the same
// commit give byte-identical .tar.gz files.
import { create as createTar } from "tar";
import { gzip } from "node:zlib";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { promisify } from "node:util";

const gzipAsync = promisify(gzip);

/** Packs `entries` (paths relative to cwd, symlinks kept) into a .tar.gz at out. */
export async function reproducibleTarGz(
  cwd: string,
  entries: string[],
  out: string,
  mtimeSeconds: number,
): Promise<void> {
  const chunks: Uint8Array[] = [];
  const stream = createTar({
    cwd,
    portable: true,
    noDirRecurse: true,
    mtime: new Date(mtimeSeconds * 1000),
    // deno-lint-ignore no-explicit-any
  } as any, [...entries].sort());
  for await (const c of stream as AsyncIterable<Uint8Array>) chunks.push(c);
  // zlib writes mtime 0 and no file name in the gzip header.
  const gz = await gzipAsync(Buffer.concat(chunks), { level: 9 });
  writeFileSync(out, gz);
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** `<sha256>  <name>` lines sorted by name: what `sha256sum -c`, `shasum -a 256 -c` and the
 * Terraform Registry read. */
export function sha256Sums(files: Array<{ name: string; sha256: string }>): string {
  return [...files].sort((a, b) => a.name.localeCompare(b.name))
    .map((f) => `${f.sha256}  ${f.name}\n`).join("");
}

/** `<file>.sha256` beside a file whose hash is known: one line of sha256Sums. */
export function writeChecksum(path: string, hash: string): void {
  writeFileSync(`${path}.sha256`, sha256Sums([{ name: basename(path), sha256: hash }]));
}
