// The release version: $VERSION (v1.2.3 or 1.2.3) wins; an exact `vX.Y.Z` tag on HEAD
// gives X.Y.Z; between tags, a semver pre-release of the next patch,
// X.Y.(Z+1)-dev.<commits since the tag>.g<short sha>. Terraform rejects provider
// directories that are not semver, so every form here is.
// The label is the version as release file names spell it: the tag as written
// (`git tag v0.1.0` or VERSION=v0.1.0 -> infrasim-v0.1.0-<target>.tar.gz), else the version.
import { execFileSync } from "node:child_process";

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export function isSemver(v: string): boolean {
  return SEMVER.test(v);
}

function git(root: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  })
    .trim();
}

export function gitCommit(root: string): string {
  try {
    return git(root, "rev-parse", "HEAD");
  } catch {
    return "unknown";
  }
}

/** Seconds since the epoch of the HEAD commit: the mtime of everything archived. */
export function sourceDateEpoch(root: string): number {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(git(root, "log", "-1", "--format=%ct"));
  } catch {
    return 0;
  }
}

export interface Release {
  /** semver, without `v`: --version, the manifest, the Terraform provider's paths. */
  version: string;
  /** release file names: the tag or $VERSION as written (`v0.1.0`), else `version`. */
  label: string;
}

export function releaseVersion(root: string, env = process.env.VERSION): string {
  return release(root, env).version;
}

export function release(root: string, env = process.env.VERSION): Release {
  if (env) {
    const v = env.replace(/^v/, "");
    if (!isSemver(v)) throw new Error(`VERSION=${env} is not semver (vX.Y.Z or X.Y.Z[-pre])`);
    return { version: v, label: env };
  }
  let described: string;
  try {
    described = git(root, "describe", "--tags", "--long", "--match", "v[0-9]*.[0-9]*.[0-9]*");
  } catch {
    // No release tag yet.
    let count = "0", sha = "unknown";
    try {
      count = git(root, "rev-list", "--count", "HEAD");
      sha = git(root, "rev-parse", "--short=7", "HEAD");
    } catch { /* not a git checkout */ }
    const version = `0.1.0-dev.${count}.g${sha}`;
    return { version, label: version };
  }
  const m = described.match(/^v(\d+)\.(\d+)\.(\d+)-(\d+)-g([0-9a-f]+)$/);
  if (!m) throw new Error(`cannot read a version from git describe: ${described}`);
  const [, maj, min, pat, n, sha] = m;
  // On the tag itself: the tag as written is the label (git describe prints it as such).
  if (n === "0") return { version: `${maj}.${min}.${pat}`, label: `v${maj}.${min}.${pat}` };
  const version = `${maj}.${min}.${Number(pat) + 1}-dev.${n}.g${sha}`;
  return { version, label: version };
}
