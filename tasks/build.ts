// deno task build: compiles the one multi-call executable (src/main.ts) with Bun for
// each target into dist/<target>/, with infrasimd as a link to it. dist/bin points at
// the host's target. Codegen runs before this (a task dependency).
// Flags: --host-only compiles just the host target (quick local builds).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");

/** Rust-style target triple -> Bun's compile target. aarch64-apple-darwin comes first. */
export const TARGETS: Record<string, string> = {
  "aarch64-apple-darwin": "bun-darwin-arm64",
  "x86_64-apple-darwin": "bun-darwin-x64",
  "x86_64-unknown-linux-gnu": "bun-linux-x64",
  "aarch64-unknown-linux-gnu": "bun-linux-arm64",
};

export function hostTarget(): string {
  const os = process.platform === "darwin" ? "apple-darwin" : "unknown-linux-gnu";
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return `${arch}-${os}`;
}

function bunPath(): string {
  const local = join(root, "tools/bin/bun");
  return existsSync(local) ? local : "bun";
}

function version(): string {
  if (process.env.VERSION) return process.env.VERSION.replace(/^v/, "");
  try {
    return execFileSync("git", ["describe", "--tags", "--match", "v[0-9]*", "--exact-match"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim().replace(/^v/, "");
  } catch {
    return "0.1.0-dev";
  }
}

const hostOnly = process.argv.includes("--host-only");
const targets = hostOnly ? [hostTarget()] : Object.keys(TARGETS);
const ver = version();
const t0 = performance.now();
for (const target of targets) {
  const dir = join(dist, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "infrasim");
  const t = performance.now();
  execFileSync(bunPath(), [
    "build",
    "--compile",
    "--minify",
    // Precompiled bytecode roughly halves start-up, which the CLI pays on every call.
    "--bytecode",
    "--format=cjs",
    `--target=${TARGETS[target]}`,
    `--define`,
    `INFRASIM_VERSION=${JSON.stringify(ver)}`,
    join(root, "src/main.ts"),
    "--outfile",
    out,
  ], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  // One binary, several names: it dispatches on the name it was started under.
  symlinkSync("infrasim", join(dir, "infrasimd"));
  symlinkSync("infrasim", join(dir, "terraform-provider-infrasim"));
  const mb = (statSync(out).size / 1e6).toFixed(1);
  console.log(`build: ${target} ${mb} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
rmSync(join(dist, "bin"), { force: true, recursive: true });
symlinkSync(hostTarget(), join(dist, "bin"));
console.log(
  `build: version ${ver}, ${targets.length} target(s) in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
