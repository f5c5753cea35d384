// The release label (tasks/lib/version.ts): release file names spell the version as the
// tag or $VERSION was written (v0.1.0); the version itself stays semver without the v.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { release } from "../../tasks/lib/version.ts";

Deno.test("release: the label is the tag or $VERSION as written, else the version", () => {
  const dir = mkdtempSync("/tmp/isv-");
  const git = (...a: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...a], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  const commit = (msg: string) => {
    writeFileSync(join(dir, "f"), msg);
    git("add", "f");
    git("commit", "-qm", msg);
    return git("rev-parse", "--short=7", "HEAD");
  };
  try {
    git("init", "-q");
    const sha1 = commit("one");
    // No tag: today's names.
    const dev = `0.1.0-dev.1.g${sha1}`;
    assert.deepEqual(release(dir, ""), { version: dev, label: dev });
    // `git tag v0.1.0` on HEAD: infrasim-v0.1.0-<target>.tar.gz, version 0.1.0.
    git("tag", "v0.1.0");
    assert.deepEqual(release(dir, ""), { version: "0.1.0", label: "v0.1.0" });
    // $VERSION wins, kept as written.
    assert.deepEqual(release(dir, "v1.0.0"), { version: "1.0.0", label: "v1.0.0" });
    assert.deepEqual(release(dir, "1.0.0"), { version: "1.0.0", label: "1.0.0" });
    assert.deepEqual(release(dir, "v2.0.0-rc.1"), { version: "2.0.0-rc.1", label: "v2.0.0-rc.1" });
    // Between tags: no tag names this commit; the dev version, as before.
    const sha2 = commit("two");
    const next = `0.1.1-dev.1.g${sha2}`;
    assert.deepEqual(release(dir, ""), { version: next, label: next });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
