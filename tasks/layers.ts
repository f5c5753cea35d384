// The layer rules of src/ (.dependency-cruiser.json), checked with dependency-cruiser:
// no import from a lower layer to a higher one, no circle. `deno task layers [dir]`;
// exits 1 and names each violation. The test suite runs it (tests/unit/layers_test.ts).
import { cruise, type IReporterOutput } from "dependency-cruiser";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** Cruises `dir` (a src/ tree: the repository's own, or a copy) with the project's rules. */
export async function checkLayers(dir = join(ROOT, "src")): Promise<string[]> {
  const config = JSON.parse(readFileSync(join(ROOT, ".dependency-cruiser.json"), "utf8"));
  const base = join(dir, "..");
  const prev = process.cwd();
  // Rules name paths relative to the tree's root ("^src/...").
  process.chdir(base);
  try {
    const res: IReporterOutput = await cruise(["src"], {
      ...config.options,
      ruleSet: { forbidden: config.forbidden },
      validate: true,
    });
    const out = res.output as {
      summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
    };
    return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  } finally {
    process.chdir(prev);
  }
}

if (import.meta.main) {
  const problems = await checkLayers(process.argv[2]);
  for (const p of problems) console.error(`layers: ${p}`);
  console.log(problems.length ? `${problems.length} layer violation(s)` : "layers: ok");
  process.exit(problems.length ? 1 : 0);
}
