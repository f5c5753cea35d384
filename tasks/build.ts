// deno task build: the release pipeline. Each stage reports its name and duration.
//   1 environment  pinned toolchains (installed if missing), clean dist/
//   2 codegen      proto/ -> src/api/gen/
//   3 compile      one multi-call executable per target (Bun), plus links for its names;
//                  the host's also at the top of dist/ (dist/infrasim, dist/infrasimd, ...)
//   4 test         the whole suite; a failure fails the build (--skip-tests skips it)
//   5 archives     infrasim-<label>-<target>.tar.gz (reproducible) and .sha256 beside it;
//                  <label> is the tag as written (v0.1.0), else the semver version
//   6 provider     Terraform filesystem-mirror bundle and the registry manifest
//   7 release      provider zips, their SHA256SUMS, a network mirror and a packed filesystem
//                  mirror, the Homebrew formula, SHA256SUMS over every artifact, and GPG
//                  signatures of both sums when GPG_KEY_ID names a key
//   8 manifest     dist/manifest.json (docs/release.md documents it)
// Flags: --skip-tests, --host-only (compile and package only the host's target).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { gitCommit, release, sourceDateEpoch } from "./lib/version.ts";
import { reproducibleTarGz, sha256File, sha256Sums, writeChecksum } from "./lib/archive.ts";
import { BINARIES, hostTarget, TARGETS } from "./lib/targets.ts";
import {
  h1Hash,
  homebrewFormula,
  networkMirror,
  PROVIDER_ADDRESS,
  providerManifest,
  providerZipName,
  releaseUrls,
  signFiles,
} from "./lib/release.ts";
import { resignAdhoc, resignObstacles, verifyAdhocSignature } from "./lib/macho/mod.ts";

const execFileAsync = promisify(execFile);
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dist = join(root, "dist");

const args = process.argv.slice(2);
const skipTests = args.includes("--skip-tests") || process.env.INFRASIM_SKIP_TESTS === "1";
const targets = args.includes("--host-only") ? [hostTarget()] : Object.keys(TARGETS);

interface Artifact {
  kind:
    | "archive"
    | "checksum"
    | "provider"
    | "provider-manifest"
    | "provider-zip"
    | "provider-sums"
    | "mirror"
    | "formula"
    | "sums"
    | "signature";
  target: string | null;
  file: string;
  size: number;
  sha256: string;
  binaries?: string[];
}
const artifacts: Artifact[] = [];
/** Hashes a file once and lists it; returns the entry (later stages reuse its hash). */
function record(kind: Artifact["kind"], target: string | null, path: string, extra = {}) {
  const a: Artifact = {
    kind,
    target,
    file: relative(dist, path),
    size: statSync(path).size,
    sha256: sha256File(path),
    ...extra,
  };
  artifacts.push(a);
  return a;
}
/** A recorded artifact's hash: each file is read once. */
const hashOf = (kind: Artifact["kind"], target: string | null) =>
  artifacts.find((a) => a.kind === kind && a.target === target)!.sha256;

function tool(name: string): string {
  const local = join(root, "tools/bin", name);
  return existsSync(local) ? local : name;
}

function run(cmd: string, argv: string[], opts: { stdio?: "inherit" | "ignore" } = {}) {
  execFileSync(cmd, argv, {
    cwd: root,
    stdio: ["ignore", opts.stdio ?? "inherit", "inherit"],
    env: { ...process.env, DENO_DIR: process.env.DENO_DIR ?? join(root, ".deno") },
  });
}

// version: semver (--version, manifest, provider paths); label: the tag as written, for
// the archive names (`git tag v0.1.0` -> infrasim-v0.1.0-<target>.tar.gz).
const { version, label } = release(root);
const host = hostTarget();
const epoch = sourceDateEpoch(root);
const timings: Array<[string, number]> = [];

async function stage(name: string, fn: () => void | Promise<void>): Promise<void> {
  const t = performance.now();
  console.log(`[build] ${name} ...`);
  await fn();
  const s = (performance.now() - t) / 1000;
  timings.push([name, s]);
  console.log(`[build] ${name}: ${s.toFixed(1)} s`);
}

const t0 = performance.now();
console.log(
  `[build] version ${version}${label === version ? "" : ` (${label})`}, ` +
    `targets ${targets.join(", ")}`,
);

await stage("environment", () => {
  // setup.sh checks the pinned Deno and Bun (installing them when missing) and the npm deps.
  if (!process.env.INFRASIM_SETUP_DONE) run("bash", [join(root, "tasks/setup.sh")]);
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
});

await stage("codegen", () => run(tool("deno"), ["run", "-A", "tasks/codegen.ts"]));

/**
 * Verifies a darwin executable's code signature (every page hash recomputed) and, when it is
 * wrong, re-signs it ad hoc in place. Bun 1.4 leaves its own runtime's signature on darwin-x64
 * output: it covers neither the new header nor the embedded JavaScript. Returns the line to print;
 * throws when the result still does not verify.
 */
function checkSignature(file: string): string {
  const bytes = readFileSync(file);
  const before = verifyAdhocSignature(bytes);
  if (before.ok && before.adhoc) return `signature ok (${before.pages} page hashes)`;
  const inPlace = resignObstacles(bytes).length === 0;
  const fixed = resignAdhoc(bytes, { replace: true });
  const after = verifyAdhocSignature(fixed);
  if (!after.ok || !after.adhoc) {
    throw new Error(`${file}: still invalid after re-signing: ${after.problems.join("; ")}`);
  }
  writeFileSync(file, fixed);
  const why = [`${before.mismatchedPages} of ${before.pages} page hashes were wrong`];
  const unsigned = Math.max(...before.slices.map((s) => s.uncoveredBytes));
  if (unsigned > 0) why.push(`${unsigned} bytes unsigned`);
  const how = inPlace
    ? "re-hashed in place"
    : `${JSON.stringify(before.identifier)} ${before.adhoc ? "ad-hoc" : "CMS"} signature ` +
      `replaced by an ad-hoc one over ${after.pages} pages`;
  return `signature fixed (${why.join(", ")}; ${how})`;
}

await stage("compile", async () => {
  const compile = async (target: string) => {
    const dir = join(dist, target);
    mkdirSync(dir, { recursive: true });
    const out = join(dir, "infrasim");
    await execFileAsync(tool("bun"), [
      "build",
      "--compile",
      "--minify",
      // Precompiled bytecode roughly halves start-up, which the CLI pays on every call.
      "--bytecode",
      "--format=cjs",
      `--target=${TARGETS[target].bun}`,
      "--define",
      `INFRASIM_VERSION=${JSON.stringify(version)}`,
      join(root, "src/main.ts"),
      "--outfile",
      out,
    ], { cwd: root });
    for (const name of BINARIES.slice(1)) symlinkSync("infrasim", join(dir, name));
    console.log(`[build]   ${target}: ${(statSync(out).size / 1e6).toFixed(1)} MB`);
    if (target.endsWith("-apple-darwin")) {
      console.log(`[build]   ${target}: ${checkSignature(out)}`);
    }
  };
  // Two at a time, for two cores.
  for (let i = 0; i < targets.length; i += 2) {
    await Promise.all(targets.slice(i, i + 2).map(compile));
  }
  symlinkSync(host, join(dist, "bin"));
  // The host's executable under its three names at the top of dist/, as hard links (no
  // second copy on disk): `cp dist/infrasimd /usr/local/bin/` copies a file that starts as
  // the daemon, whatever cp does with links.
  for (const name of BINARIES) linkSync(join(dist, host, "infrasim"), join(dist, name));
});

if (skipTests) {
  console.log("[build] test: skipped (--skip-tests)");
} else {
  await stage("test", () => {
    // The test task as `deno task test` runs it (guests, images, files two at a time),
    // on the executables just compiled.
    run(tool("deno"), ["run", "-A", join(root, "tasks/test.ts"), "--no-build"]);
  });
}

await stage("archives", async () => {
  await Promise.all(targets.map(async (target) => {
    // One archive per target holds all three names: the executable and two links to it.
    // Three copies would ship the ~90 MB runtime three times.
    const file = join(dist, `infrasim-${label}-${target}.tar.gz`);
    await reproducibleTarGz(join(dist, target), [...BINARIES], file, epoch);
    writeChecksum(file, record("archive", target, file, { binaries: [...BINARIES] }).sha256);
    record("checksum", target, `${file}.sha256`);
  }));
});

await stage("provider", () => {
  const base = join(dist, "terraform-providers/registry.terraform.io/infrasim/infrasim", version);
  for (const target of targets) {
    const dir = join(base, TARGETS[target].terraform);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `terraform-provider-infrasim_v${version}`);
    // A hard link: the same bytes as dist/<target>/infrasim, without a second copy on disk.
    linkSync(join(dist, target, "infrasim"), file);
    chmodSync(file, 0o755);
    record("provider", target, file);
  }
  const manifest = join(dist, `terraform-provider-infrasim_${version}_manifest.json`);
  writeFileSync(manifest, providerManifest());
  record("provider-manifest", null, manifest);
});

await stage("release", async () => {
  const exeOf = (target: string) => join(dist, target, "infrasim");
  const zipOf = async (target: string) => {
    const platform = TARGETS[target].terraform;
    const name = providerZipName(version, platform);
    await execFileAsync(tool("deno"), [
      "run",
      "-A",
      join(root, "tasks/provider_zip.ts"),
      exeOf(target),
      version,
      String(epoch),
      join(dist, name),
    ], { cwd: root, timeout: 300_000 });
    const zip = record("provider-zip", target, join(dist, name));
    // The provider stage hashed the executable (its mirror copy is a hard link to it).
    const exe = {
      name: `terraform-provider-infrasim_v${version}`,
      sha256: hashOf("provider", target),
    };
    return { platform, name, sha256: zip.sha256, h1: h1Hash([exe]) };
  };
  // Two at a time, for two cores.
  const zips = [];
  for (let i = 0; i < targets.length; i += 2) {
    zips.push(...await Promise.all(targets.slice(i, i + 2).map(zipOf)));
  }
  const manifestName = `terraform-provider-infrasim_${version}_manifest.json`;
  const providerSums = join(dist, `terraform-provider-infrasim_${version}_SHA256SUMS`);
  writeFileSync(
    providerSums,
    sha256Sums([...zips, { name: manifestName, sha256: hashOf("provider-manifest", null) }]),
  );
  record("provider-sums", null, providerSums);

  // The same zips, hard-linked: a network mirror (served as it is over HTTPS) and the
  // packed layout `terraform providers mirror` writes.
  const net = join(dist, "network-mirror", PROVIDER_ADDRESS);
  const packed = join(dist, "terraform-providers-packed", PROVIDER_ADDRESS);
  const docs = networkMirror(version, zips);
  for (const dir of [net, packed]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(net, "index.json"), docs.index);
  writeFileSync(join(net, `${version}.json`), docs.version);
  record("mirror", null, join(net, "index.json"));
  record("mirror", null, join(net, `${version}.json`));
  for (const z of zips) {
    linkSync(join(dist, z.name), join(net, z.name));
    linkSync(join(dist, z.name), join(packed, z.name));
  }

  const archives = artifacts.filter((a) => a.kind === "archive");
  if (archives.length === Object.keys(TARGETS).length) {
    const { baseUrl, homepage } = releaseUrls(label, process.env);
    const formula = join(dist, "homebrew/infrasim.rb");
    mkdirSync(join(dist, "homebrew"));
    writeFileSync(
      formula,
      homebrewFormula({
        version,
        baseUrl,
        homepage,
        archives: Object.fromEntries(
          archives.map((a) => [a.target!, { name: a.file, sha256: a.sha256 }]),
        ),
      }),
    );
    record("formula", null, formula);
  } else console.log("[build]   homebrew formula: skipped (it needs all four targets)");

  const sums = join(dist, "SHA256SUMS");
  const kinds = ["archive", "provider-zip", "provider-manifest", "provider-sums", "formula"];
  writeFileSync(
    sums,
    sha256Sums(
      artifacts.filter((a) => kinds.includes(a.kind)).map((a) => ({
        name: a.file,
        sha256: a.sha256,
      })),
    ),
  );
  record("sums", null, sums);

  const keyId = process.env.GPG_KEY_ID;
  if (!keyId) {
    console.log(
      "[build]   signatures: skipped (set GPG_KEY_ID, and GNUPGHOME for another keyring, " +
        "to sign SHA256SUMS and the provider's SHA256SUMS)",
    );
    return;
  }
  signFiles(keyId, [providerSums, sums]);
  for (const file of [providerSums, sums]) record("signature", null, `${file}.sig`);
  console.log(`[build]   signed both SHA256SUMS with key ${keyId}`);
});

await stage("manifest", () => {
  const manifest = {
    schema_version: 1,
    version,
    label,
    host_target: host,
    commit: gitCommit(root),
    build_time: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    source_date_epoch: epoch,
    layout: "multi-call: one executable per target answering to infrasim, infrasimd and " +
      "terraform-provider-infrasim (links in the archive); the host's at the top of dist/",
    strip: "not stripped: a Bun executable carries its JavaScript after the runtime, and " +
      "stripping breaks it",
    tests: skipTests ? "skipped" : "passed",
    stages: Object.fromEntries(timings.map(([n, s]) => [n, Number(s.toFixed(2))])),
    artifacts: artifacts.sort((a, b) => a.file.localeCompare(b.file)),
  };
  writeFileSync(join(dist, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
});

const perTarget = targets.map((t) => {
  const a = artifacts.find((x) => x.kind === "archive" && x.target === t)!;
  return `${t} ${(a.size / 1e6).toFixed(1)} MB`;
});
console.log(`[build] archives: ${perTarget.join(", ")}`);
console.log(
  `[build] done: version ${version} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
