// bench/pipeline: the whole release pipeline for the four targets (without its test
// stage, which the suite times on its own), against the bare `bun build --compile`
// of the same four targets measured in the same run. Seed figure: 75 s on an M2;
// goal: <= 60 s.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TARGETS } from "../tasks/lib/targets.ts";
import { ROOT } from "../tests/helpers/env.ts";
import { secs } from "./lib.ts";

const tmp = mkdtempSync("/tmp/isb-bun-");
const t0 = performance.now();
for (const t of Object.values(TARGETS)) {
  execFileSync(join(ROOT, "tools/bin/bun"), [
    "build",
    "--compile",
    "--minify",
    `--target=${t.bun}`,
    join(ROOT, "src/main.ts"),
    "--outfile",
    join(tmp, t.bun),
  ], { stdio: "ignore" });
}
const bare = performance.now() - t0;
rmSync(tmp, { recursive: true, force: true });

const t1 = performance.now();
const r = spawnSync(join(ROOT, "tools/bin/deno"), ["task", "build", "--skip-tests"], {
  cwd: ROOT,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
const pipeline = performance.now() - t1;
if (r.status !== 0) throw new Error(r.stdout + r.stderr);
const stages = [...r.stdout.matchAll(/\[build\] (\w+): ([\d.]+) s/g)].map((m) =>
  `${m[1]} ${m[2]} s`
);
console.log(`pipeline, 4 targets, no test stage: ${secs(pipeline)} s (goal <= 60 s; seed 75 s)`);
console.log(`  stages: ${stages.join(", ")}`);
console.log(
  `  bare bun compile of the 4 targets: ${secs(bare)} s; ratio ${(pipeline / bare).toFixed(2)}`,
);
