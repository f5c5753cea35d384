// What a release publishes for Terraform and Homebrew users, from the dist/ the test task
// built, checked with the real tools: the provider's registry packages and checksums, GPG
// signatures made and verified with a throwaway key, the Homebrew formula (ruby -c, its
// URLs and sha256, its test command against the linux tarball), and `terraform init` from
// the network mirror over HTTPS and from the packed filesystem mirror; a lock whose h1:
// hashes are the mirror's, and a mirror whose zh: hashes (the SHA256SUMS ones) are forged
// refused. (release_test.ts checks that two builds of one commit give the same bytes,
// these files included.)
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { Buffer } from "node:buffer";
import { E2E, e2eTest, guest, ROOT } from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";
import { TARGETS } from "../../tasks/lib/targets.ts";
import { PROVIDER_ADDRESS, sha256, signFiles } from "../../tasks/lib/release.ts";
import { generateServerCert } from "../../src/provider/tls.ts";

const DIST = join(ROOT, "dist");
const version: string = JSON.parse(readFileSync(join(DIST, "manifest.json"), "utf8")).version;
const PLATFORMS = Object.values(TARGETS).map((t) => t.terraform);
const zipName = (p: string) => `terraform-provider-infrasim_${version}_${p}.zip`;
const providerSums = `terraform-provider-infrasim_${version}_SHA256SUMS`;
const fileHash = (path: string) => sha256(readFileSync(path));

/** `<hash>  <name>` lines as a map. */
function sums(text: string): Map<string, string> {
  return new Map(
    text.trim().split("\n").map((l) => {
      const m = l.match(/^([0-9a-f]{64}) {2}(\S+)$/);
      assert.ok(m, `a SHA256SUMS line: ${l}`);
      return [m[2], m[1]];
    }),
  );
}

Deno.test({
  name: "release packages: provider zips, SHA256SUMS and mirrors agree; sha256sum -c passes",
  ...E2E,
  fn: () => {
    const provider = sums(readFileSync(join(DIST, providerSums), "utf8"));
    assert.deepEqual(
      [...provider.keys()].sort(),
      [...PLATFORMS.map(zipName), `terraform-provider-infrasim_${version}_manifest.json`].sort(),
    );
    for (const [name, hash] of provider) assert.equal(fileHash(join(DIST, name)), hash, name);
    for (const f of [providerSums, "SHA256SUMS"]) {
      const r = spawnSync("sha256sum", ["-c", f], { cwd: DIST, encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
    // The release-wide sums hold the archives, the provider's files and the formula.
    const all = sums(readFileSync(join(DIST, "SHA256SUMS"), "utf8"));
    for (const t of Object.keys(TARGETS)) {
      assert.ok([...all.keys()].some((n) => n.endsWith(`-${t}.tar.gz`)), t);
    }
    for (const n of [...provider.keys(), providerSums, "homebrew/infrasim.rb"]) {
      assert.ok(all.has(n), n);
    }

    // One entry per zip: the executable under Terraform's name, executable, and it runs.
    const linux = join(DIST, zipName("linux_amd64"));
    const listing = execFileSync("zipinfo", [linux], { encoding: "utf8" });
    assert.match(
      listing,
      new RegExp(`^-rwxr-xr-x .* terraform-provider-infrasim_v${version}$`, "m"),
    );
    assert.match(listing, /1 file,/);
    const dir = mkdtempSync("/tmp/isr-zip-");
    try {
      execFileSync("unzip", ["-q", linux, "-d", dir]);
      const exe = join(dir, `terraform-provider-infrasim_v${version}`);
      assert.equal(execFileSync(exe, ["--version"], { encoding: "utf8" }).trim(), version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // The network mirror: the protocol's two documents, the zips beside them (hard links).
    const net = join(DIST, "network-mirror", PROVIDER_ADDRESS);
    assert.deepEqual(JSON.parse(readFileSync(join(net, "index.json"), "utf8")), {
      versions: { [version]: {} },
    });
    const archives = JSON.parse(readFileSync(join(net, `${version}.json`), "utf8")).archives;
    assert.deepEqual(Object.keys(archives).sort(), [...PLATFORMS].sort());
    for (const p of PLATFORMS) {
      assert.equal(archives[p].url, zipName(p));
      assert.match(archives[p].hashes[0], /^h1:[A-Za-z0-9+/]{43}=$/);
      assert.equal(archives[p].hashes[1], `zh:${provider.get(zipName(p))}`);
      const packed = join(DIST, "terraform-providers-packed", PROVIDER_ADDRESS, zipName(p));
      for (const copy of [join(net, zipName(p)), packed]) {
        assert.equal(statSync(copy).ino, statSync(join(DIST, zipName(p))).ino, copy);
      }
    }
  },
});

Deno.test({
  name:
    "release packages: both SHA256SUMS signed with a throwaway key verify; a changed byte fails",
  ...E2E,
  fn: () => {
    const home = mkdtempSync("/tmp/isr-gpg-");
    try {
      const env = { ...process.env, GNUPGHOME: join(home, "gnupg") };
      execFileSync("mkdir", ["-m", "0700", env.GNUPGHOME]);
      const gpg = (...args: string[]) => spawnSync("gpg", ["--batch", ...args], { env });
      const made = gpg(
        "--passphrase",
        "",
        "--quick-generate-key",
        "InfraSim Release Test <release@infrasim.invalid>",
        "ed25519",
        "sign",
        "1d",
      );
      assert.equal(made.status, 0, String(made.stderr));
      const files = [providerSums, "SHA256SUMS"].map((f) => {
        writeFileSync(join(home, f), readFileSync(join(DIST, f)));
        return join(home, f);
      });
      signFiles("release@infrasim.invalid", files, env);
      for (const f of files) {
        const ok = gpg("--verify", `${f}.sig`, f);
        assert.equal(ok.status, 0, String(ok.stderr));
        assert.match(String(ok.stderr), /Good signature from "InfraSim Release Test/);
        const bytes = readFileSync(f);
        bytes[10] ^= 1;
        writeFileSync(f, bytes);
        const bad = gpg("--verify", `${f}.sig`, f);
        assert.notEqual(bad.status, 0, "a changed byte must not verify");
        assert.match(String(bad.stderr), /BAD signature/);
      }
      // No such key: the build says so rather than shipping no signature silently.
      assert.throws(() => signFiles("nobody@infrasim.invalid", [files[0]], env), /could not sign/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "release packages: the Homebrew formula parses, names the archives, and its test passes",
  ...E2E,
  fn: () => {
    const formula = join(DIST, "homebrew/infrasim.rb");
    const syntax = spawnSync("ruby", ["-c", formula], { encoding: "utf8" });
    assert.equal(syntax.status, 0, syntax.stderr);
    assert.match(syntax.stdout, /Syntax OK/);
    const text = readFileSync(formula, "utf8");
    assert.match(text, new RegExp(`version "${version.replaceAll(".", "\\.")}"`));
    assert.match(text, /depends_on "qemu"/);
    assert.match(text, /run \[opt_bin\/"infrasimd"\]/);
    const pairs = [...text.matchAll(/url "([^"]+)"\n\s+sha256 "([0-9a-f]{64})"/g)];
    assert.equal(pairs.length, 4);
    for (const [, url, hash] of pairs) {
      const name = url.slice(url.lastIndexOf("/") + 1);
      assert.equal(fileHash(join(DIST, name)), hash, name);
    }
    // `test do`: its command, run as Homebrew would after installing the linux tarball.
    const cmd = text.match(/shell_output\("#\{bin\}\/(infrasim [^"]+)"\)/);
    assert.ok(cmd, "the formula's test command");
    const tgz = pairs.map(([, url]) => url.slice(url.lastIndexOf("/") + 1))
      .find((n) => n.endsWith("-x86_64-unknown-linux-gnu.tar.gz"))!;
    const bin = mkdtempSync("/tmp/isr-brew-");
    try {
      execFileSync("tar", ["xzf", join(DIST, tgz), "-C", bin]);
      const out = execFileSync("sh", ["-c", `${bin}/${cmd[1]}`], { encoding: "utf8" });
      assert.ok(out.includes(version), `assert_match version: ${out}`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  },
});

/**
 * Serves the network mirror over HTTPS on loopback with a throwaway certificate; `edit`
 * may change a document on its way out.
 */
async function httpsMirror(
  edit: (path: string, body: Buffer) => Buffer = (_, b) => b,
): Promise<{ url: string; caFile: string; close(): void }> {
  const cert = await generateServerCert(); // self-signed, SAN localhost
  const root = join(DIST, "network-mirror");
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, "https://x").pathname));
    try {
      const body = edit(path, readFileSync(join(root, path)));
      // Terraform checks the type of the JSON documents, as any web server sets it.
      const type = path.endsWith(".json") ? "application/json" : "application/zip";
      res.writeHead(200, { "content-type": type, "content-length": body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const caFile = join(mkdtempSync("/tmp/isr-ca-"), "ca.pem");
  writeFileSync(caFile, cert.certPem);
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}/`,
    caFile,
    close: () => server.close(),
  };
}

e2eTest(
  "release packages: terraform init from the HTTPS network mirror and the packed mirror; lock hashes",
  async (d) => {
    const mirror = await httpsMirror();
    const pin = `terraform {\n  required_providers {\n    infrasim = {\n      source  = ` +
      `"infrasim/infrasim"\n      version = "${version}"\n    }\n  }\n}\n`;
    const mirrored = JSON.parse(
      readFileSync(join(DIST, "network-mirror", PROVIDER_ADDRESS, `${version}.json`), "utf8"),
    ).archives;
    try {
      for (
        const [how, install] of [
          ["network mirror", `network_mirror {\n    url = "${mirror.url}"\n  }`],
          [
            "packed filesystem mirror",
            `filesystem_mirror {\n    path = "${DIST}/terraform-providers-packed"\n  }`,
          ],
        ]
      ) {
        const ws = new Workspace(d);
        try {
          ws.env = { SSL_CERT_FILE: mirror.caFile };
          writeFileSync(
            join(ws.dir, "cli.tfrc"),
            `provider_installation {\n  ${install}\n}\n`,
          );
          ws.write(vmHcl("m", guest("x86_64")));
          writeFileSync(join(ws.dir, "version_override.tf"), pin);
          const init = await ws.run("init", "-input=false");
          assert.equal(init.code, 0, `${how}: ${init.stdout}${init.stderr}`);
          assert.match(init.stdout, new RegExp(`Installed infrasim/infrasim v${version}`), how);
          const plan = await ws.run("plan", "-input=false");
          assert.match(plan.stdout, /Plan: 1 to add/, `${how}: ${plan.stdout}${plan.stderr}`);
          if (how !== "network mirror") continue;
          // A lock for two platforms from the network mirror: Terraform records the h1:
          // hashes it computes from the packages it fetched, which are the mirror's own
          // (zh: hashes enter a lock only from a registry's signed SHA256SUMS).
          const lock = await ws.run(
            "providers",
            "lock",
            `-net-mirror=${mirror.url}`,
            "-platform=linux_amd64",
            "-platform=darwin_arm64",
          );
          assert.equal(lock.code, 0, lock.stdout + lock.stderr);
          const hcl = readFileSync(join(ws.dir, ".terraform.lock.hcl"), "utf8");
          const h1 = [...hcl.matchAll(/"(h1:[A-Za-z0-9+/=]+)"/g)].map((m) => m[1]).sort();
          assert.deepEqual(
            h1,
            [mirrored.darwin_arm64.hashes[0], mirrored.linux_amd64.hashes[0]].sort(),
          );
        } finally {
          ws.cleanup();
        }
      }
    } finally {
      mirror.close();
    }

    // Terraform checks each package against the mirror's hashes (it accepts one that
    // matches any). With the h1: ones left out, the zh: ones (the SHA256SUMS ones) alone
    // let it install, and forged ones make it refuse: they are checked, not only listed.
    for (const forge of [false, true]) {
      const zhOnly = await httpsMirror((path, body) => {
        if (!path.endsWith(`${version}.json`)) return body;
        const text = body.toString().replace(/"h1:[^"]+",\s*/g, "");
        return Buffer.from(forge ? text.replace(/zh:[0-9a-f]{64}/g, `zh:${"0".repeat(64)}`) : text);
      });
      const ws = new Workspace(d);
      try {
        ws.env = { SSL_CERT_FILE: zhOnly.caFile };
        writeFileSync(
          join(ws.dir, "cli.tfrc"),
          `provider_installation {\n  network_mirror {\n    url = "${zhOnly.url}"\n  }\n}\n`,
        );
        ws.write(vmHcl("m", guest("x86_64")));
        writeFileSync(join(ws.dir, "version_override.tf"), pin);
        const init = await ws.run("init", "-input=false");
        if (!forge) assert.equal(init.code, 0, `zh: hashes only: ${init.stderr}`);
        else {
          assert.notEqual(init.code, 0, "a package that does not match its zh: hash installed");
          assert.match(init.stderr, /checksum|doesn't match|does not match/i, init.stderr);
        }
      } finally {
        ws.cleanup();
        zhOnly.close();
      }
    }
  },
);
