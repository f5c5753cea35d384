// What a release publishes beside the archives, as Terraform and Homebrew users install
// it: the provider's registry packages (a zip per platform, SHA256SUMS, its signature and
// the registry manifest), a provider network mirror and a packed filesystem mirror, and a
// SHA256SUMS over every artifact. Each file is a pure function of its inputs (fixed
// mtimes, sorted entries), so two builds of one commit write the same bytes.
import yazl from "yazl";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";

export const PROVIDER = "terraform-provider-infrasim";
/** The provider's address, as paths of the mirrors spell it. */
export const PROVIDER_ADDRESS = "registry.terraform.io/infrasim/infrasim";

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * A provider package: the executable alone, as `terraform-provider-infrasim_v<V>`, mode
 * 0755, stamped with `epoch`, deflated at level 9 (zlib). A zip's DOS time is local time,
 * which would make the bytes depend on the builder's time zone: the stamp is shifted so
 * that it reads as UTC everywhere (unzip shows the commit's UTC time).
 */
export async function providerZip(
  exe: Uint8Array,
  version: string,
  epoch: number,
): Promise<Uint8Array> {
  const at = new Date(epoch * 1000);
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(exe), `${PROVIDER}_v${version}`, {
    mtime: new Date(at.getTime() + at.getTimezoneOffset() * 60_000),
    mode: 0o100755,
    compressionLevel: 9,
    // Without Info-ZIP's UTC timestamp field, which would then hold the shifted time.
    forceDosTimestamp: true,
  });
  zip.end();
  const chunks: Uint8Array[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

export const providerZipName = (version: string, platform: string) =>
  `${PROVIDER}_${version}_${platform}.zip`;

/** The registry's manifest: the plugin protocol the provider speaks. */
export function providerManifest(): string {
  return JSON.stringify({ version: 1, metadata: { protocol_versions: ["6.0"] } }) + "\n";
}

/**
 * Terraform's `h1:` hash of a package (Go's dirhash Hash1): the SHA-256 of the lines
 * `<sha256 hex>  <name>` of its files, sorted; a provider zip holds one file.
 */
export function h1Hash(files: Array<{ name: string; sha256: string }>): string {
  const summary = [...files].sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((f) => `${f.sha256}  ${f.name}\n`).join("");
  return `h1:${createHash("sha256").update(summary).digest("base64")}`;
}

/**
 * The provider network mirror protocol's two documents for one version: index.json (the
 * versions) and <V>.json (each platform's package, its URL relative to that document, and
 * its hashes: `h1:`, what Terraform records in a lock file from a mirror, and `zh:`, the
 * SHA-256 of the zip, as in SHA256SUMS).
 */
export function networkMirror(
  version: string,
  zips: Array<{ platform: string; name: string; sha256: string; h1: string }>,
): { index: string; version: string } {
  const archives: Record<string, { url: string; hashes: string[] }> = {};
  for (const z of [...zips].sort((a, b) => a.platform.localeCompare(b.platform))) {
    archives[z.platform] = { url: z.name, hashes: [z.h1, `zh:${z.sha256}`] };
  }
  return {
    index: JSON.stringify({ versions: { [version]: {} } }, null, 2) + "\n",
    version: JSON.stringify({ archives }, null, 2) + "\n",
  };
}

/** gpg's arguments for a detached binary signature of `file` by `keyId` (out: file.sig). */
export function gpgSignArgs(keyId: string, file: string): string[] {
  return [
    "--batch",
    "--yes",
    "--pinentry-mode",
    "loopback",
    "--local-user",
    keyId,
    "--output",
    `${file}.sig`,
    "--detach-sign",
    file,
  ];
}

/**
 * Signs each file with gpg (detached, binary, `<file>.sig`); GNUPGHOME in the environment
 * chooses the keyring. A missing gpg or key is an error that says so.
 */
export function signFiles(
  keyId: string,
  files: string[],
  env: Record<string, string | undefined> = process.env,
): void {
  for (const file of files) {
    const r = spawnSync("gpg", gpgSignArgs(keyId, file), {
      encoding: "utf8",
      timeout: 60_000,
      env,
    });
    if (r.error) throw new Error(`cannot run gpg to sign ${file}: ${r.error.message}`);
    if (r.status !== 0) {
      throw new Error(
        `gpg could not sign ${file} with key ${keyId}: ${r.stderr.trim().slice(-300)}`,
      );
    }
  }
}

export interface FormulaInput {
  version: string;
  /** Where the archives are published: the URL each archive's name is appended to. */
  baseUrl: string;
  homepage: string;
  /** Archive file name and sha256 by target triple. */
  archives: Record<string, { name: string; sha256: string }>;
}

const FORMULA_TARGETS = [
  ["on_macos", "on_arm", "aarch64-apple-darwin"],
  ["on_macos", "on_intel", "x86_64-apple-darwin"],
  ["on_linux", "on_arm", "aarch64-unknown-linux-gnu"],
  ["on_linux", "on_intel", "x86_64-unknown-linux-gnu"],
] as const;

/**
 * A Homebrew formula for the release archives: one per OS and CPU, the three names
 * installed (one executable and two links, as in the archive), QEMU as the dependency, a
 * service for infrasimd, and a test that runs `infrasim --version`.
 */
export function homebrewFormula(f: FormulaInput): string {
  const block = (os: string) =>
    FORMULA_TARGETS.filter(([o]) => o === os).map(([, cpu, target]) => {
      const a = f.archives[target];
      if (!a) throw new Error(`no archive for ${target}: the formula needs all four targets`);
      return `    ${cpu} do\n      url "${f.baseUrl}${a.name}"\n      sha256 "${a.sha256}"\n    end\n`;
    }).join("");
  return `# Generated by deno task build (tasks/lib/release.ts); docs/release.md says how to publish it.
class Infrasim < Formula
  desc "Simulate infrastructure on a laptop: QEMU VMs and WAN links from Terraform"
  homepage "${f.homepage}"
  version "${f.version}"

  on_macos do
${block("on_macos")}  end

  on_linux do
${block("on_linux")}  end

  depends_on "qemu"

  def install
    bin.install "infrasim"
    bin.install_symlink "infrasim" => "infrasimd"
    bin.install_symlink "infrasim" => "terraform-provider-infrasim"
  end

  service do
    run [opt_bin/"infrasimd"]
    keep_alive true
    log_path var/"log/infrasimd.log"
    error_log_path var/"log/infrasimd.log"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/infrasim --version")
  end
end
`;
}

/**
 * Where a release's archives are downloaded from and the project's page: the environment
 * (INFRASIM_RELEASE_URL, INFRASIM_HOMEPAGE), else GitHub's release download URL of <label>.
 */
export function releaseUrls(
  label: string,
  env: Record<string, string | undefined>,
): { baseUrl: string; homepage: string } {
  const homepage = env.INFRASIM_HOMEPAGE || "https://github.com/infrasim/infrasim";
  let baseUrl = env.INFRASIM_RELEASE_URL || `${homepage}/releases/download/${label}/`;
  // Both go into Ruby strings: plain https URLs only.
  for (const [name, url] of [["INFRASIM_HOMEPAGE", homepage], ["INFRASIM_RELEASE_URL", baseUrl]]) {
    if (!/^https:\/\/[^\s"#{}\\]+$/.test(url)) {
      throw new Error(`${name}: must be an https:// URL (got ${JSON.stringify(url.slice(0, 80))})`);
    }
  }
  if (!baseUrl.endsWith("/")) baseUrl += "/";
  return { baseUrl, homepage };
}
