// The metrics' pure parts: a process's usage from Linux's /proc and from macOS's ps, and
// a VM's disk counters from QMP's query-blockstats.
import assert from "node:assert/strict";
import { parseProcUsage, parsePsUsage, processUsage } from "../../src/process/usage.ts";
import { parseBlockStats } from "../../src/daemon/metrics/blockstats.ts";

Deno.test("usage: /proc stat and status, a command name with spaces and parentheses", () => {
  const stat = "4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 566 0 0 20 0 " +
    "3 0 1807802 3133440 348 18446744073709551615";
  const u = parseProcUsage(stat, "Name:\tqemu\nVmPeak:\t 9 kB\nVmRSS:\t  204800 kB\nThreads:\t3\n");
  assert.equal(u.cpuSeconds, 18); // (1234 + 566) ticks at USER_HZ 100
  assert.equal(u.rssBytes, 204800 * 1024);
  assert.throws(() => parseProcUsage("1 (x) S 1", ""), /unexpected \/proc stat/);
});

Deno.test("usage: ps -o cputime=,rss= as macOS and procps write it", () => {
  assert.deepEqual(parsePsUsage("   0:01.50  10376\n"), {
    cpuSeconds: 1.5,
    rssBytes: 10376 * 1024,
  });
  assert.deepEqual(parsePsUsage("123:45.25 2048"), { cpuSeconds: 7425.25, rssBytes: 2048 * 1024 });
  assert.equal(parsePsUsage("00:01:32 1").cpuSeconds, 92);
  assert.equal(parsePsUsage("2-01:00:00 1").cpuSeconds, 2 * 86400 + 3600);
  assert.throws(() => parsePsUsage(""), /unexpected ps output/);
  assert.throws(() => parsePsUsage("1:2:3:4 5"), /unexpected ps time/);
});

Deno.test("usage: this process, read for real, grows with work", async () => {
  const a = await processUsage(process.pid);
  let x = 0;
  for (const t = performance.now(); performance.now() - t < 150;) x += Math.sqrt(x + 1);
  const b = await processUsage(process.pid);
  assert.ok(b.cpuSeconds > a.cpuSeconds, `${a.cpuSeconds} -> ${b.cpuSeconds} (${x > 0})`);
  assert.ok(a.rssBytes > 1e6);
  await assert.rejects(processUsage(2 ** 22 + 1));
});

Deno.test("blockstats: each drive's counters, named by id, else device path, else node", () => {
  const got = parseBlockStats([
    { device: "disk0", stats: { rd_bytes: 10, wr_bytes: 20, rd_operations: 1, wr_operations: 2 } },
    { device: "", qdev: "/machine/peripheral/vol0/virtio-backend", stats: { rd_bytes: 5 } },
    { device: "", "node-name": "n1", stats: {} },
    { device: "cdrom" },
  ]);
  assert.deepEqual(got, [
    { device: "disk0", readBytes: 10, writtenBytes: 20, reads: 1, writes: 2 },
    {
      device: "/machine/peripheral/vol0/virtio-backend",
      readBytes: 5,
      writtenBytes: 0,
      reads: 0,
      writes: 0,
    },
    { device: "n1", readBytes: 0, writtenBytes: 0, reads: 0, writes: 0 },
  ]);
  assert.deepEqual(parseBlockStats({ error: 1 }), []);
});
