// Images: imports from a path and from a loopback HTTP server into the content-addressed
// store; whatever goes wrong (wrong sha256, short download, 404, client gone, daemon
// killed) leaves nothing behind.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { e2eTest, guest, sleep, type TestDaemon, waitFor } from "../helpers/env.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

const DISK = guest("x86_64").disk;
const BYTES = readFileSync(DISK);
const HEX = createHash("sha256").update(BYTES).digest("hex");

/** Serves the test disk: whole, cut short, slowly, or not at all. */
function serve(
  mode: "ok" | "short" | "slow" | "404",
): Promise<{ url: string; server: Server; close: () => void }> {
  const server = createServer((_req, res) => {
    if (mode === "404") {
      res.writeHead(404).end("nope");
      return;
    }
    res.writeHead(200, { "content-length": String(BYTES.length) });
    if (mode === "ok") return void res.end(BYTES);
    const end = mode === "short" ? BYTES.length >> 1 : BYTES.length;
    const step = mode === "slow" ? 256 * 1024 : end;
    let at = 0;
    const pump = () => {
      if (res.destroyed) return;
      if (at >= end) return void (mode === "short" ? res.destroy() : res.end());
      res.write(BYTES.subarray(at, at + step));
      at += step;
      setTimeout(pump, mode === "slow" ? 100 : 0);
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}/disk.qcow2`,
        server,
        close: () => server.closeAllConnections?.() ?? server.close(),
      });
    })
  );
}

/** Nothing of a failed import: no record, no blob, no temporary file. */
async function assertNothingLeft(d: TestDaemon): Promise<void> {
  assert.deepEqual((await d.client.listImages({ label_selector: "" })).images, []);
  await waitFor(
    "an empty image store",
    () =>
      readdirSync(join(d.dataDir, "images/sha256")).length === 0 &&
      readdirSync(join(d.dataDir, "images/tmp")).length === 0,
    5000,
  );
}

e2eTest("image: import from a path; the same bytes twice are stored once", async (d) => {
  const a = await d.client.importImage({ meta: { name: "disk-a" }, spec: { source: DISK } }).done;
  assert.equal(a.status!.digest, `sha256:${HEX}`);
  assert.equal(a.status!.format, "qcow2");
  assert.ok(a.status!.virtual_size_bytes > BYTES.length / 2, String(a.status!.virtual_size_bytes));
  assert.equal(a.status!.actual_size_bytes, BYTES.length);
  assert.equal(a.status!.path, join(d.dataDir, "images/sha256", HEX));
  assert.equal(statSync(a.status!.path).mode & 0o777, 0o600);
  const b = await d.client.importImage({
    meta: { name: "disk-b", labels: { os: "test" } },
    spec: { source: DISK, sha256: HEX.toUpperCase() },
  }).done;
  assert.equal(b.status!.path, a.status!.path);
  assert.deepEqual(readdirSync(join(d.dataDir, "images/sha256")), [HEX]);
  assert.deepEqual(
    (await d.client.listImages({ label_selector: "os=test" })).images.map((i) => i.meta!.name),
    ["disk-b"],
  );
  assert.equal((await d.client.getImage(a.meta!.id)).meta!.name, "disk-a");
  await assert.rejects(
    d.client.importImage({ meta: { name: "disk-a" }, spec: { source: DISK } }).done,
    (e: ApiError) => Status[e.code] === "ALREADY_EXISTS" && /meta\.name/.test(e.message),
  );
  await d.client.deleteImage("disk-a");
  assert.ok(statSync(b.status!.path).isFile(), "the blob stays while disk-b uses it");
  await d.client.deleteImage("disk-b");
  await assertNothingLeft(d);
});

e2eTest(
  "image: import over HTTP with progress; 404, short and wrong-digest downloads leave nothing",
  async (d) => {
    const slow = await serve("slow");
    try {
      const seen: Array<[number, number]> = [];
      const img = await d.client.importImage(
        { meta: { name: "web" }, spec: { source: slow.url, sha256: HEX } },
        (done, total) => seen.push([done, total]),
      ).done;
      assert.equal(img.status!.digest, `sha256:${HEX}`);
      assert.ok(seen.length >= 2, `progress reports: ${seen.length}`);
      assert.ok(seen.every(([, total]) => total === BYTES.length));
      assert.ok(seen.every(([done], i) => i === 0 || done >= seen[i - 1][0]), "done only grows");
      await d.client.deleteImage("web");
    } finally {
      slow.close();
    }
    const cases: Array<["ok" | "short" | "404", string, RegExp]> = [
      ["404", "", /^spec\.source: .*HTTP 404/],
      ["short", "", /^spec\.source: .*(truncated|broke off)/],
      ["ok", "0".repeat(64), /^spec\.sha256: the source's sha256 is [0-9a-f]{64}, not 0{64}$/],
    ];
    for (const [mode, sha256, field] of cases) {
      const s = await serve(mode);
      try {
        await assert.rejects(
          d.client.importImage({ meta: { name: `bad-${mode}` }, spec: { source: s.url, sha256 } })
            .done,
          (e: ApiError) => {
            assert.equal(Status[e.code], "INVALID_ARGUMENT", `${mode}: ${e.message}`);
            assert.match(e.message, field, mode);
            return true;
          },
        );
      } finally {
        s.close();
      }
    }
    await assertNothingLeft(d);
  },
);

e2eTest("image: bad input names the field and creates nothing", async (d) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ meta: { name: "Bad_Name" }, spec: { source: DISK } }, /^meta\.name: /],
    [{ meta: { name: "x" }, spec: { source: "" } }, /^spec\.source: /],
    [{ meta: { name: "x" }, spec: { source: "disk.qcow2" } }, /^spec\.source: must be an absolute/],
    [{ meta: { name: "x" }, spec: { source: "ftp://h/x" } }, /^spec\.source: .*only http/],
    [{ meta: { name: "x" }, spec: { source: "/proc/kmsg" } }, /^spec\.source: .*special file/],
    [{ meta: { name: "x" }, spec: { source: DISK, sha256: "abc" } }, /^spec\.sha256: /],
    [{ meta: { name: "x" }, spec: { source: "http://127.0.0.1:1/x" } }, /^spec\.source: /],
  ];
  for (const [req, field] of cases) {
    await assert.rejects(d.client.importImage(req).done, (e: ApiError) => {
      assert.equal(Status[e.code], "INVALID_ARGUMENT", e.message);
      assert.match(e.message, field);
      return true;
    });
  }
  await assert.rejects(d.client.getImage("nope"), (e: ApiError) => Status[e.code] === "NOT_FOUND");
  await assertNothingLeft(d);
});

e2eTest(
  "image: a client that goes away, and a daemon killed mid-import, leave nothing",
  async (d) => {
    const s = await serve("slow");
    try {
      let progressed = 0;
      const gone = d.client.importImage(
        { meta: { name: "gone" }, spec: { source: s.url } },
        () => progressed++,
      );
      const goneDone = gone.done.catch(() => {}); // rejected: cancelled
      await waitFor("some progress", () => progressed > 0, 10_000);
      gone.cancel();
      await goneDone;
      await assertNothingLeft(d);

      progressed = 0;
      const killed = d.client.importImage(
        { meta: { name: "killed" }, spec: { source: s.url } },
        () => progressed++,
      );
      const killedDone = killed.done.catch(() => {}); // rejected: the daemon dies
      await waitFor("some progress", () => progressed > 0, 10_000);
      assert.equal(readdirSync(join(d.dataDir, "images/tmp")).length, 1, "the copy is under way");
      await d.kill9();
      await killedDone;
      await sleep(100);
      await d.launch();
      await assertNothingLeft(d);
    } finally {
      s.close();
    }
  },
);
