// One provider package, in a process of its own so that a build zips two targets at once
// (zlib runs on the calling thread): deno run -A tasks/provider_zip.ts EXE VERSION EPOCH OUT
import { readFile, writeFile } from "node:fs/promises";
import { providerZip } from "./lib/release.ts";

const [exe, version, epoch, out] = process.argv.slice(2);
if (!out || !/^\d+$/.test(epoch)) {
  console.error("usage: provider_zip.ts EXE VERSION EPOCH OUT");
  process.exit(2);
}
await writeFile(out, await providerZip(await readFile(exe), version, Number(epoch)));
