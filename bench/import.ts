// bench/import: image import throughput (a local file into the content-addressed store,
// hashed while copied) against `sha256sum` of the same file, in the same run.
// Goal: import / sha256sum throughput >= 0.8.
// Usage: deno run -A bench/import.ts [--mb 512] [--rounds 3]
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { TestDaemon } from "../tests/helpers/env.ts";
import { median } from "./lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const mb = Number(opt("mb", "512"));
const rounds = Number(opt("rounds", "3"));

// Random bytes (incompressible, no sparse holes), written once; the page cache keeps
// them warm for both sides.
const dir = mkdtempSync("/tmp/isb-import-");
const file = join(dir, "image.raw");
const fd = openSync(file, "w");
const chunk = randomBytes(1 << 20);
for (let i = 0; i < mb; i++) writeSync(fd, chunk);
closeSync(fd);

const d = await TestDaemon.start();
const sum: number[] = [];
const imp: number[] = [];
try {
  execFileSync("sha256sum", [file]); // warm the page cache
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    execFileSync("sha256sum", [file]);
    sum.push(performance.now() - t0);
    t0 = performance.now();
    const img = await d.client.importImage({ meta: { name: `b${i}` }, spec: { source: file } })
      .done;
    imp.push(performance.now() - t0);
    await d.client.deleteImage(img.meta!.id);
  }
} finally {
  await d.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
const mbps = (ms: number) => (mb / (ms / 1000)).toFixed(0);
console.log(
  `import of ${mb} MiB, median of ${rounds}: sha256sum ${mbps(median(sum))} MiB/s, ` +
    `infrasimd import ${mbps(median(imp))} MiB/s; ratio ${
      (median(sum) / median(imp)).toFixed(2)
    } (goal >= 0.8)`,
);
process.exit(0);
