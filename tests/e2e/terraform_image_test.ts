// infrasim_image with the real terraform: import, labels in place, data source,
// terraform import then an empty plan, errors on the attribute, destroy.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { e2eTest, guest } from "../helpers/env.ts";
import { assertImportPlansEmpty, Workspace } from "../helpers/terraform.ts";

const DISK = guest("x86_64").disk;
const HEX = createHash("sha256").update(readFileSync(DISK)).digest("hex");

const image = (extra = "") =>
  `resource "infrasim_image" "disk" {\n  name   = "test-disk"\n  source = "${DISK}"\n  sha256 = "${HEX}"\n${extra}}\n`;

e2eTest(
  "terraform: infrasim_image imports, updates labels in place, reads back, destroys",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(
        image('  labels = { os = "test" }\n') +
          `data "infrasim_image" "by_name" {\n  name = infrasim_image.disk.name\n}\n` +
          `output "digest" { value = data.infrasim_image.by_name.digest }\n` +
          `output "format" { value = infrasim_image.disk.format }\n`,
      );
      await ws.apply();
      assert.equal(await ws.output("digest"), `sha256:${HEX}`);
      assert.equal(await ws.output("format"), "qcow2");
      const again = await ws.run("plan", "-detailed-exitcode");
      assert.equal(again.code, 0, again.stdout + again.stderr);

      ws.write(image('  labels = { os = "debian" }\n'));
      const plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /will be updated in-place/);
      await ws.apply();
      assert.deepEqual((await d.client.getImage("test-disk")).meta!.labels, { os: "debian" });
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);

      // Another workspace adopts it by name; its first plan is empty.
      await assertImportPlansEmpty(d, image('  labels = { os = "debian" }\n'), [
        ["infrasim_image.disk", "test-disk"],
      ]);

      await ws.destroy();
      assert.deepEqual((await d.client.listImages({ label_selector: "" })).images, []);
      assert.deepEqual(readdirSync(join(d.dataDir, "images/sha256")), []);
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest("terraform: a wrong sha256 or a missing source is an error at the attribute", async (d) => {
  const ws = new Workspace(d);
  try {
    ws.write(image().replace(HEX, HEX.toUpperCase()));
    const upper = await ws.run("plan");
    assert.equal(upper.code, 1);
    assert.match(upper.stdout + upper.stderr, /Invalid sha256[\s\S]*lowercase hex/);
    ws.write(image().replace(HEX, "0".repeat(64)));
    const wrong = await ws.run("apply", "-auto-approve");
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stdout + wrong.stderr,
      /Invalid sha256[\s\S]*sha256 = "0{64}"[\s\S]*the source's sha256 is/,
    );
    ws.write(image().replace(DISK, "/nonexistent/disk.qcow2"));
    const missing = await ws.run("apply", "-auto-approve");
    assert.equal(missing.code, 1);
    assert.match(
      missing.stdout + missing.stderr,
      /source = "\/nonexistent\/disk\.qcow2"[\s\S]*no such file/,
    );
    ws.write(image().replace(DISK, "relative.qcow2"));
    const rel = await ws.run("plan");
    assert.equal(rel.code, 1);
    assert.match(rel.stdout + rel.stderr, /Invalid source/);
    assert.deepEqual((await d.client.listImages({ label_selector: "" })).images, []);
  } finally {
    ws.cleanup();
  }
});
