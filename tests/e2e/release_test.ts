// The release pipeline on a clean clone tagged `v0.1.0`: checksums, manifest, binaries
// for every target, reproducibility, the provider mirror with the real `terraform init`,
// and every install path (cp from dist/ as the docs write it, tarball, deno task install,
// examples/deploy.sh, service files).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { E2E, e2eTest, guest, READY, ROOT } from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";
import { hostTarget, TARGETS } from "../../tasks/lib/targets.ts";
import { ADHOC_IDENTIFIER, verifyAdhocSignature } from "../../tasks/lib/macho/mod.ts";

interface Manifest {
  version: string;
  label: string;
  host_target: string;
  commit: string;
  build_time: string;
  artifacts: Array<
    { kind: string; target: string | null; file: string; size: number; sha256: string }
  >;
}

/** The release tag the clone gets, and the semver version it gives. */
const TAG = "v0.1.0";
const VERSION = "0.1.0";

/**
 * A clean clone of HEAD sharing this checkout's pinned tools and dependency cache, tagged
 * as a release is (`git tag v0.1.0`; no other tags are cloned).
 */
function cleanClone(): string {
  const dir = mkdtempSync("/tmp/isr-");
  execFileSync("git", ["clone", "--quiet", "--no-tags", ROOT, join(dir, "src")]);
  execFileSync("git", ["tag", TAG], { cwd: join(dir, "src") });
  symlinkSync(join(ROOT, "tools"), join(dir, "src/tools"));
  return join(dir, "src");
}

function build(src: string): { manifest: Manifest; out: string } {
  const r = spawnSync(join(src, "tools/bin/deno"), ["task", "build", "--skip-tests"], {
    cwd: src,
    encoding: "utf8",
    env: { ...process.env, DENO_DIR: join(ROOT, ".deno"), NO_COLOR: "1", GPG_KEY_ID: "" },
    timeout: 600_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Every stage reports its name and duration.
  for (
    const s of ["environment", "codegen", "compile", "archives", "provider", "release", "manifest"]
  ) {
    assert.match(r.stdout, new RegExp(`\\[build\\] ${s}: \\d+\\.\\d s`), s);
  }
  // Without a key the build says it did not sign, and ships no signature.
  assert.match(r.stdout, /\[build\] {3}signatures: skipped \(set GPG_KEY_ID/);
  return {
    manifest: JSON.parse(readFileSync(join(src, "dist/manifest.json"), "utf8")),
    out: r.stdout,
  };
}

let clone: { src: string; first: Manifest; second: Manifest } | undefined;
function pipeline() {
  if (!clone) {
    const src = cleanClone();
    const first = build(src).manifest;
    const second = build(src).manifest;
    clone = { src, first, second };
  }
  return clone;
}

function header(path: string, n: number): Uint8Array {
  const fd = openSync(path, "r");
  const buf = new Uint8Array(n);
  readSync(fd, buf, 0, n, 0);
  return buf;
}

Deno.test({
  name: "release: a clean clone builds reproducibly; checksums and manifest match the files",
  ...E2E,
  fn: () => {
    const { src, first, second } = pipeline();
    const dist = join(src, "dist");
    // The tag as written names the files; the version is semver without the v.
    assert.equal(first.version, VERSION);
    assert.equal(first.label, TAG);
    assert.equal(first.host_target, hostTarget());
    assert.equal(
      first.commit,
      execFileSync("git", ["rev-parse", "HEAD"], { cwd: src, encoding: "utf8" }).trim(),
    );
    assert.match(first.build_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Two builds of one commit: byte-identical artifacts.
    assert.deepEqual(
      second.artifacts.map((a) => [a.file, a.sha256]),
      first.artifacts.map((a) => [a.file, a.sha256]),
    );
    for (const a of second.artifacts) {
      const p = join(dist, a.file);
      assert.equal(statSync(p).size, a.size, a.file);
      assert.equal(createHash("sha256").update(readFileSync(p)).digest("hex"), a.sha256, a.file);
    }
    for (const target of Object.keys(TARGETS)) {
      const tgz = `infrasim-v0.1.0-${target}.tar.gz`;
      const archive = second.artifacts.find((a) => a.file === tgz && a.target === target);
      assert.ok(archive, tgz);
      // Checked against the file above.
      assert.equal(
        readFileSync(join(dist, `${tgz}.sha256`), "utf8"),
        `${archive.sha256}  ${tgz}\n`,
      );
      for (const [cmd, args] of [["sha256sum", ["-c"]], ["shasum", ["-a", "256", "-c"]]] as const) {
        const r = spawnSync(cmd, [...args, `${tgz}.sha256`], { cwd: dist, encoding: "utf8" });
        assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
      }
      const listing = execFileSync("tar", ["tzvf", join(dist, tgz)], { encoding: "utf8" });
      assert.match(listing, /infrasimd -> infrasim/);
      assert.match(listing, /terraform-provider-infrasim -> infrasim/);
      // Terraform's names keep the semver version.
      const provider = join(
        dist,
        "terraform-providers/registry.terraform.io/infrasim/infrasim/0.1.0",
        TARGETS[target].terraform,
        "terraform-provider-infrasim_v0.1.0",
      );
      assert.ok(existsSync(provider), provider);
    }
    const regManifest = JSON.parse(
      readFileSync(
        join(dist, "terraform-provider-infrasim_0.1.0_manifest.json"),
        "utf8",
      ),
    );
    assert.deepEqual(regManifest.metadata.protocol_versions, ["6.0"]);

    // linux-x64 runs under every name; the others have the right executable headers.
    for (const name of ["infrasim", "infrasimd", "terraform-provider-infrasim"]) {
      const out = execFileSync(join(dist, "x86_64-unknown-linux-gnu", name), ["--version"], {
        encoding: "utf8",
      });
      assert.equal(out.trim(), first.version, name);
    }
    const macho = (t: string) => new DataView(header(join(dist, t, "infrasim"), 8).buffer);
    for (
      const [t, cpu] of [["aarch64-apple-darwin", 0x0100000c], [
        "x86_64-apple-darwin",
        0x01000007,
      ]] as const
    ) {
      assert.equal(macho(t).getUint32(0, true), 0xfeedfacf, `${t}: Mach-O 64-bit`);
      assert.equal(macho(t).getUint32(4, true), cpu, `${t}: CPU type`);
      // The ad-hoc code signature holds: every page hash recomputed (the build re-signs
      // Bun's darwin-x64 output, which carries the runtime's stale signature).
      const sig = verifyAdhocSignature(readFileSync(join(dist, t, "infrasim")));
      assert.deepEqual(sig.problems, [], `${t}: code signature`);
      assert.equal(sig.mismatchedPages, 0, `${t}: page hashes`);
      assert.ok(sig.pages > 0, `${t}: code pages`);
      assert.ok(sig.hashTypes.includes("sha256"), `${t}: a SHA-256 CodeDirectory`);
      assert.equal(sig.identifier, ADHOC_IDENTIFIER, `${t}: signing identifier`);
      assert.ok(sig.adhoc, `${t}: ad hoc`);
    }
    const elf = header(join(dist, "aarch64-unknown-linux-gnu/infrasim"), 20);
    assert.deepEqual([...elf.slice(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    assert.equal(elf[18], 0xb7, "ELF e_machine aarch64");
  },
});

Deno.test({
  name: "release: after `git tag v0.1.0` and a build, the install commands work as written",
  ...E2E,
  fn: () => {
    const { src } = pipeline();
    const dist = join(src, "dist");
    const host = hostTarget();
    // dist/<target>/ and dist/bin are as they were; the host's executable is also at the
    // top of dist/ under its three names, hard links to the same file (no extra copy).
    assert.equal(readlinkSync(join(dist, "bin")), host);
    assert.equal(readlinkSync(join(dist, host, "infrasimd")), "infrasim");
    const exe = statSync(join(dist, host, "infrasim"));
    for (const name of ["infrasim", "infrasimd", "terraform-provider-infrasim"]) {
      const st = lstatSync(join(dist, name));
      assert.ok(st.isFile(), `dist/${name} is a file`);
      assert.equal(st.ino, exe.ino, `dist/${name} is the host's executable`);
    }
    const prefix = mkdtempSync("/tmp/isr-prefix-");
    try {
      mkdirSync(join(prefix, "bin"));
      // The docs' commands, word for word but for $PREFIX instead of /usr/local and no sudo
      // (the tests run as root).
      const sh = (script: string, cwd: string) =>
        execFileSync("sh", ["-euc", script], {
          cwd,
          encoding: "utf8",
          env: { ...process.env, PREFIX: prefix },
        });
      sh('cp dist/infrasim "$PREFIX/bin/"\ncp dist/infrasimd "$PREFIX/bin/"\n', src);
      const bin = (name: string, ...args: string[]) =>
        spawnSync(join(prefix, "bin", name), args, { encoding: "utf8" });
      for (const name of ["infrasim", "infrasimd"]) {
        assert.ok(lstatSync(join(prefix, "bin", name)).isFile(), `${name} copied as a file`);
        assert.equal(bin(name, "--version").stdout.trim(), "0.1.0", name);
      }
      // Each answers as itself: the copy named infrasimd is the daemon.
      assert.match(bin("infrasimd", "--help").stdout, /^Usage: infrasimd \[options\]\n/);
      assert.match(bin("infrasim", "--help").stdout, /^Usage: infrasim \[options\] \[command\]/);
      const provider = spawnSync(join(dist, "terraform-provider-infrasim"), [], {
        encoding: "utf8",
      });
      assert.match(provider.stderr, /This binary is a plugin/);
      // Archive names keep the tag as written, and the checksum checks as the docs say.
      const out = sh(`shasum -a 256 -c infrasim-v0.1.0-${host}.tar.gz.sha256`, dist);
      assert.equal(out, `infrasim-v0.1.0-${host}.tar.gz: OK\n`);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  },
});

e2eTest(
  "release: terraform init installs the provider from the dist mirror; plan and apply boot a VM",
  async (d) => {
    const { src, first } = pipeline();
    const ws = new Workspace(d);
    try {
      // No dev_overrides: a filesystem mirror, as a release user would configure it.
      writeFileSync(
        join(ws.dir, "cli.tfrc"),
        `provider_installation {\n  filesystem_mirror {\n    path    = "${src}/dist/terraform-providers"\n` +
          `    include = ["infrasim/infrasim"]\n  }\n  direct {\n    exclude = ["infrasim/infrasim"]\n  }\n}\n`,
      );
      ws.write(vmHcl("mirrored", guest("x86_64"), "", "m"));
      writeFileSync(
        join(ws.dir, "version_override.tf"),
        `terraform {\n  required_providers {\n    infrasim = {\n      source  = "infrasim/infrasim"\n` +
          `      version = "${first.version}"\n    }\n  }\n}\n`,
      );
      const init = await ws.run("init", "-input=false");
      assert.equal(init.code, 0, init.stdout + init.stderr);
      assert.match(
        init.stdout,
        new RegExp(`Installed infrasim/infrasim v${first.version.replaceAll(".", "\\.")}`),
      );
      const plan = await ws.run("plan", "-input=false");
      assert.match(plan.stdout, /Plan: 1 to add/, plan.stdout + plan.stderr);
      await ws.apply();
      const vm = await d.client.getVm("mirrored");
      assert.equal(vm.status!.state, "RUNNING");
      await d.waitSerial(vm, READY);
    } finally {
      ws.cleanup();
    }
  },
);

Deno.test({
  name: "release: a tarball verifies, extracts and runs",
  ...E2E,
  fn: () => {
    const { src } = pipeline();
    const dir = mkdtempSync("/tmp/isr-tgz-");
    try {
      const tgz = "infrasim-v0.1.0-x86_64-unknown-linux-gnu.tar.gz";
      for (const f of [tgz, `${tgz}.sha256`]) {
        writeFileSync(join(dir, f), readFileSync(join(src, "dist", f)));
      }
      execFileSync("shasum", ["-a", "256", "-c", `${tgz}.sha256`], { cwd: dir });
      execFileSync("sha256sum", ["-c", `${tgz}.sha256`], { cwd: dir });
      mkdirSync(join(dir, "bin"));
      execFileSync("tar", ["xzf", tgz, "-C", "bin"], { cwd: dir });
      for (const name of ["infrasim", "infrasimd", "terraform-provider-infrasim"]) {
        assert.equal(
          execFileSync(join(dir, "bin", name), ["--version"], { encoding: "utf8" }).trim(),
          "0.1.0",
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "release: deno task install with PREFIX, service files, and examples/deploy.sh end to end",
  ...E2E,
  fn: () => {
    const home = mkdtempSync("/tmp/isr-home-");
    try {
      const env = {
        ...process.env,
        HOME: home,
        PREFIX: join(home, "prefix"),
        INFRASIM_DATA_DIR: join(home, "data"),
        INFRASIM_LISTEN: "",
        XDG_CONFIG_HOME: join(home, ".config"),
        NO_COLOR: "1",
      };
      const r = spawnSync("bash", ["examples/deploy.sh"], {
        cwd: ROOT,
        env,
        encoding: "utf8",
        timeout: 300_000,
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /guest says: infrasim-guest-ok/);
      assert.match(r.stdout, /deploy: ok/);
      const version = execFileSync(join(home, "prefix/bin/infrasim"), ["--version"], {
        encoding: "utf8",
      }).trim();
      assert.ok(
        existsSync(
          join(
            home,
            ".terraform.d/plugins/registry.terraform.io/infrasim/infrasim",
            version,
            "linux_amd64",
            `terraform-provider-infrasim_v${version}`,
          ),
        ),
      );
      const unit = join(home, ".config/systemd/user/infrasimd.service");
      assert.match(
        readFileSync(unit, "utf8"),
        new RegExp(`ExecStart=${home}/prefix/bin/infrasimd`),
      );
      const verify = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
      assert.equal(verify.status, 0, verify.stderr);
      // The launchd agent is a valid property list naming the daemon.
      const plist = spawnSync("python3", [
        "-c",
        "import plistlib,sys; p=plistlib.load(open(sys.argv[1],'rb')); print(p['Label'])",
        join(ROOT, "tasks/service/com.infrasim.daemon.plist"),
      ], { encoding: "utf8" });
      assert.equal(plist.stdout.trim(), "com.infrasim.daemon", plist.stderr);
    } finally {
      spawnSync("pkill", ["-9", "-f", `${home}/data/vms/`]);
      rmSync(home, { recursive: true, force: true });
    }
  },
});

// Last: remove the clone.
Deno.test({
  name: "release: clean up the clone",
  ...E2E,
  fn: () => {
    if (clone) rmSync(join(clone.src, ".."), { recursive: true, force: true });
    assert.ok(true);
  },
});
