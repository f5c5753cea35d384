// Release versions from git tags and $VERSION (tasks/lib/version.ts).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isSemver, releaseVersion } from "../../tasks/lib/version.ts";

function repo(): { dir: string; commit: (msg: string) => string; tag: (t: string) => void } {
  const dir = mkdtempSync("/tmp/isv-");
  const git = (...a: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...a], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  git("init", "-q");
  return {
    dir,
    commit: (msg) => {
      writeFileSync(join(dir, "f"), msg);
      git("add", "f");
      git("commit", "-qm", msg);
      return git("rev-parse", "--short=7", "HEAD");
    },
    tag: (t) => void git("tag", t),
  };
}

Deno.test("version: untagged, tagged, between tags, and $VERSION", () => {
  const r = repo();
  try {
    const sha1 = r.commit("one");
    assert.equal(releaseVersion(r.dir, ""), `0.1.0-dev.1.g${sha1}`);
    r.tag("v1.2.3");
    assert.equal(releaseVersion(r.dir, ""), "1.2.3");
    r.commit("two");
    const sha3 = r.commit("three");
    assert.equal(releaseVersion(r.dir, ""), `1.2.4-dev.2.g${sha3}`);
    assert.equal(releaseVersion(r.dir, "v1.0.0"), "1.0.0");
    assert.equal(releaseVersion(r.dir, "2.0.0-rc.1"), "2.0.0-rc.1");
    assert.throws(() => releaseVersion(r.dir, "v1.0"), /VERSION=v1\.0 is not semver/);
    for (const v of ["1.2.3", "0.1.0-dev.1.gabc1234", "1.2.4-dev.2.g0a1b2c3"]) {
      assert.ok(isSemver(v), v);
    }
    for (const v of ["1.2", "v1.2.3", "1.2.3-", "01.2.3"]) assert.ok(!isSemver(v), v);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
});
