// The layer rules hold for src/, and they can fail: a copy of src/ with one import
// planted from a lower layer to a higher one is refused, naming it.
import assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { checkLayers } from "../../tasks/layers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("src/ keeps its layers: no back-import, no circle", async () => {
  assert.deepEqual(await checkLayers(), []);
});

Deno.test("a planted back-import and a planted circle are refused", async () => {
  const dir = mkdtempSync("/tmp/isd-layers-");
  try {
    cpSync(join(ROOT, "src"), join(dir, "src"), { recursive: true });
    appendFileSync(join(dir, "src/qemu/img.ts"), 'import "../daemon/log.ts";\n');
    appendFileSync(join(dir, "src/api/labels.ts"), 'import "./specs.ts";\n');
    appendFileSync(join(dir, "src/api/specs.ts"), 'import "./labels.ts";\n');
    const problems = await checkLayers(join(dir, "src"));
    assert.ok(
      problems.includes("parts-below-programs: src/qemu/img.ts -> src/daemon/log.ts"),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("no-circular: src/api/labels.ts")),
      problems.join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
