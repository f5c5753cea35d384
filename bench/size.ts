// bench/size: what each part of a release archive costs, per target, against the floor
// measured in the same run: Bun's runtime alone (an empty script compiled the same way).
// Parts: the runtime; the bundled code and embedded assets (the product compiled without
// bytecode, less the runtime); the bytecode (the shipped executable, less that); and the
// dashboard's embedded assets on their own. Sizes are gzip -9, as the archives are.
// Goal (issue 17): an archive <= 40 MB per target.
// Usage: deno run -A bench/size.ts   (after deno task build:fast; compiles into a temp dir)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { TARGETS } from "../tasks/lib/targets.ts";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const bun = join(root, "tools/bin/bun");
const tmp = mkdtempSync("/tmp/infrasim-size-");
const MB = (n: number) => (n / 1e6).toFixed(1);
const gz = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

function compile(entry: string, target: string, out: string, bytecode: boolean): string {
  execFileSync(bun, [
    "build",
    "--compile",
    "--minify",
    ...(bytecode ? ["--bytecode"] : []),
    "--format=cjs",
    `--target=${target}`,
    "--define",
    'INFRASIM_VERSION="0.0.0"',
    entry,
    "--outfile",
    out,
  ], { cwd: root, stdio: "ignore" });
  return out;
}

try {
  const empty = join(tmp, "empty.ts");
  writeFileSync(empty, 'console.log("")\n');
  const assets = gzipSync(readFileSync(join(root, "src/daemon/dashboard/gen/assets.ts")), {
    level: 9,
  }).length;
  const archives = readdirSync(dist).filter((f) => f.endsWith(".tar.gz"));
  console.log(
    "target                     runtime  code+assets  bytecode  archive  archive/runtime",
  );
  for (const [target, t] of Object.entries(TARGETS)) {
    const runtime = gz(compile(empty, t.bun, join(tmp, `empty-${target}`), false));
    const plain = gz(
      compile(join(root, "src/main.ts"), t.bun, join(tmp, `plain-${target}`), false),
    );
    const shipped = gz(join(dist, target, "infrasim"));
    const archive = archives.find((a) => a.endsWith(`-${target}.tar.gz`));
    const size = archive ? statSync(join(dist, archive)).size : 0;
    console.log(
      `${target.padEnd(26)} ${MB(runtime).padStart(7)}  ${MB(plain - runtime).padStart(11)}  ` +
        `${MB(shipped - plain).padStart(8)}  ${MB(size).padStart(7)}  ${
          (size / runtime).toFixed(3).padStart(15)
        }`,
    );
  }
  console.log(`dashboard assets embedded (gzip -9): ${MB(assets)} MB, once per executable`);
  console.log("MB = 10^6 bytes; every figure gzip -9; the goal is an archive <= 40.0");
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
