// `infrasim image`: import with progress (a bar on a terminal, lines in a pipe), list,
// get and delete, errors in flag terms.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname } from "node:path";
import { e2eTest, guest, INFRASIM, sleep, waitFor } from "../helpers/env.ts";

const DISK = guest("x86_64").disk;

/** A loopback server that sends the disk in 256 KiB steps, slowly enough to watch. */
function slowServer(): Promise<{ url: string; close: () => void }> {
  const bytes = readFileSync(DISK);
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": String(bytes.length) });
    let at = 0;
    const pump = () => {
      if (res.destroyed) return;
      if (at >= bytes.length) return void res.end();
      res.write(bytes.subarray(at, at + 256 * 1024));
      at += 256 * 1024;
      setTimeout(pump, 60);
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}/disk.qcow2`,
        close: () => server.closeAllConnections(),
      }))
  );
}

e2eTest("cli: image import from a relative path, list, get, delete; errors name the flag", (d) => {
  const env = { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" };
  const r = spawnSync(INFRASIM, ["image", "import", "--name", "disk", "-o", "json", "disk.qcow2"], {
    cwd: dirname(DISK),
    env,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const img = JSON.parse(r.stdout);
  assert.equal(img.spec.source, DISK);
  assert.equal(img.status.format, "qcow2");
  assert.match(d.cli(["image", "list"]).stdout, /^NAME\s+FORMAT.*\ndisk\s+qcow2\s+/);
  assert.match(d.cli(["image", "get", "disk"]).stdout, /Digest:\s+sha256:[0-9a-f]{64}/);
  const wrong = d.cli(["image", "import", "--name", "x", "--sha256", "0".repeat(64), DISK]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /INVALID_ARGUMENT: --sha256: the source's sha256 is/);
  const noName = d.cli(["image", "import", DISK]);
  assert.equal(noName.code, 2);
  assert.match(noName.stderr, /--name/);
  assert.equal(d.cli(["image", "rm", "disk"]).code, 0);
  assert.equal(d.cli(["image", "list", "-o", "json"]).stdout.trim(), "[]");
});

e2eTest("cli: image import shows progress lines in a pipe and a bar on a terminal", async (d) => {
  const s = await slowServer();
  const session = `isci-${process.pid}`;
  const tmux = (...a: string[]) => spawnSync("tmux", a, { encoding: "utf8" });
  try {
    const piped = spawn(INFRASIM, ["image", "import", "--name", "piped", s.url], {
      env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "", out = "";
    piped.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    piped.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    const code = await new Promise((r) => piped.once("close", r));
    assert.equal(code, 0, err);
    assert.match(err, /^piped: [\d.]+ (KiB|MiB) of [\d.]+ MiB \(\d+%\)$/m);
    assert.match(out, /Name:\s+piped/);

    const cmd =
      `INFRASIM_DATA_DIR=${d.dataDir} ${INFRASIM} image import --name tty ${s.url}; sleep 30`;
    assert.equal(tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "20", cmd).status, 0);
    const screen = () => tmux("capture-pane", "-p", "-t", session).stdout;
    await waitFor(
      "a progress bar",
      () => /tty \[[█░]+\] \d+% \| [\d.]+ \w+ of [\d.]+ MiB/.test(screen()),
      20_000,
      20,
    );
    await waitFor("the imported image", () => /Name:\s+tty/.test(screen()), 30_000);
    await sleep(100);
    assert.deepEqual(
      (await d.client.listImages({ label_selector: "" })).images.map((i) => i.meta!.name),
      ["piped", "tty"],
    );
  } finally {
    tmux("kill-session", "-t", session);
    s.close();
  }
});
