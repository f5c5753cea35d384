// The tables in docs/ that the code generates (tasks/docs.ts) are up to date: the link-QoS
// fields' names, ranges and meanings come from src/api/qos.ts, as validation, the CLI's
// flags and the provider's schema do.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED, regenerate } from "../../tasks/docs.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("generated doc tables match the code (deno task docs writes them)", () => {
  for (const file of new Set(GENERATED.map((g) => g.file))) {
    const now = readFileSync(join(ROOT, file), "utf8");
    const want = regenerate(file);
    assert.ok(want !== undefined, `${file}: the generated tables' markers are missing`);
    assert.equal(now, want, `${file} is out of date: run deno task docs`);
  }
});
