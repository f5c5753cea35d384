// The release's text files as pure functions: checksums, the network mirror's documents,
// the Homebrew formula and the URLs it takes from the environment.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  gpgSignArgs,
  h1Hash,
  homebrewFormula,
  networkMirror,
  providerZip,
  releaseUrls,
  sha256,
} from "../../tasks/lib/release.ts";
import { sha256Sums } from "../../tasks/lib/archive.ts";

Deno.test("sha256Sums: sorted by name, two spaces, what sha256sum -c reads", () => {
  assert.equal(
    sha256Sums([{ name: "b.zip", sha256: "bb" }, { name: "a.zip", sha256: "aa" }]),
    "aa  a.zip\nbb  b.zip\n",
  );
});

Deno.test("networkMirror: the versions, and each platform's relative URL with h1: and zh:", () => {
  const m = networkMirror("1.2.3", [
    { platform: "linux_amd64", name: "p_1.2.3_linux_amd64.zip", sha256: "ab", h1: "h1:x=" },
    { platform: "darwin_arm64", name: "p_1.2.3_darwin_arm64.zip", sha256: "cd", h1: "h1:y=" },
  ]);
  assert.deepEqual(JSON.parse(m.index), { versions: { "1.2.3": {} } });
  assert.deepEqual(JSON.parse(m.version), {
    archives: {
      darwin_arm64: { url: "p_1.2.3_darwin_arm64.zip", hashes: ["h1:y=", "zh:cd"] },
      linux_amd64: { url: "p_1.2.3_linux_amd64.zip", hashes: ["h1:x=", "zh:ab"] },
    },
  });
});

Deno.test("h1Hash: dirhash Hash1 of the sorted `<sha256>  <name>` lines", () => {
  // sha256("deadbeef  x\n") in base64, computed independently of the function.
  const line = "deadbeef  x\n";
  assert.equal(
    h1Hash([{ name: "x", sha256: "deadbeef" }]),
    `h1:${
      btoa(
        String.fromCharCode(
          ...new Uint8Array(
            [...sha256(new TextEncoder().encode(line)).matchAll(/../g)].map((m) =>
              parseInt(m[0], 16)
            ),
          ),
        ),
      )
    }`,
  );
});

Deno.test("providerZip: the same bytes for the same input, whatever the time zone", async () => {
  const exe = new TextEncoder().encode("#!/bin/sh\necho hi\n");
  const a = await providerZip(exe, "1.0.0", 1_700_000_000);
  const b = await providerZip(exe, "1.0.0", 1_700_000_000);
  assert.equal(sha256(a), sha256(b));
  assert.deepEqual([...a.slice(0, 4)], [0x50, 0x4b, 0x03, 0x04], "a zip");
  assert.notEqual(sha256(await providerZip(exe, "1.0.0", 1_700_000_002)), sha256(a));
  // A zip stores local time: built in Tokyo and in Los Angeles, the bytes are the same.
  const inZone = (tz: string) =>
    execFileSync(Deno.execPath(), [
      "eval",
      `import { providerZip, sha256 } from "${new URL(
        "../../tasks/lib/release.ts",
        import.meta.url,
      )}";` +
      `console.log(sha256(await providerZip(new TextEncoder().encode("x"), "1.0.0", 1700000000)));`,
    ], {
      encoding: "utf8",
      env: { ...process.env, TZ: tz },
      cwd: new URL("../..", import.meta.url).pathname,
    })
      .trim();
  assert.equal(inZone("Asia/Tokyo"), inZone("America/Los_Angeles"));
});

Deno.test("homebrewFormula: four archives or an error; URLs from the environment checked", () => {
  const archives = Object.fromEntries(
    [
      "aarch64-apple-darwin",
      "x86_64-apple-darwin",
      "aarch64-unknown-linux-gnu",
      "x86_64-unknown-linux-gnu",
    ].map((t) => [t, { name: `infrasim-v1.0.0-${t}.tar.gz`, sha256: "a".repeat(64) }]),
  );
  const urls = releaseUrls("v1.0.0", {});
  assert.equal(urls.baseUrl, "https://github.com/infrasim/infrasim/releases/download/v1.0.0/");
  const rb = homebrewFormula({ version: "1.0.0", ...urls, archives });
  assert.match(
    rb,
    /on_macos do\n {4}on_arm do\n {6}url "https:\/\/github\.com\/.*aarch64-apple-darwin/,
  );
  assert.match(rb, /bin\.install_symlink "infrasim" => "infrasimd"/);
  const { "x86_64-apple-darwin": _, ...three } = archives;
  assert.throws(
    () => homebrewFormula({ version: "1.0.0", ...urls, archives: three }),
    /no archive for x86_64-apple-darwin/,
  );
  assert.equal(
    releaseUrls("v1", { INFRASIM_RELEASE_URL: "https://dl.example.com/r" }).baseUrl,
    "https://dl.example.com/r/",
  );
  assert.throws(
    () => releaseUrls("v1", { INFRASIM_RELEASE_URL: 'https://x/"; system "rm' }),
    /INFRASIM_RELEASE_URL: must be an https:\/\/ URL/,
  );
  assert.throws(() => releaseUrls("v1", { INFRASIM_HOMEPAGE: "http://x" }), /INFRASIM_HOMEPAGE/);
});

Deno.test("gpgSignArgs: a detached binary signature beside the file, never a prompt", () => {
  assert.deepEqual(gpgSignArgs("KEY", "/d/SHA256SUMS"), [
    "--batch",
    "--yes",
    "--pinentry-mode",
    "loopback",
    "--local-user",
    "KEY",
    "--output",
    "/d/SHA256SUMS.sig",
    "--detach-sign",
    "/d/SHA256SUMS",
  ]);
});
