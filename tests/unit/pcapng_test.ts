// The pcapng writer, read back by the real tshark: interfaces by name, frames on the right
// interface with their direction, a frame cut to the snaplen, and microsecond timestamps.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { enhancedPacket, interfaceDescription, sectionHeader } from "../../src/network/pcapng.ts";

function ethernet(src: number, seq: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f.set([2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, src, 0x88, 0xb5]); // local experimental ethertype
  new DataView(f.buffer).setUint32(14, seq);
  return f;
}

Deno.test("pcapng: tshark reads our interfaces, frames, directions and timestamps", () => {
  const tshark = spawnSync("tshark", ["--version"], { encoding: "utf8" });
  assert.equal(tshark.status, 0, "tshark is needed (tasks/setup.sh installs it)");
  const dir = mkdtempSync("/tmp/pcapng-");
  try {
    const ts = 1_764_700_000_123_456; // µs
    const parts = [
      sectionHeader("test"),
      interfaceDescription("a:nic0:sent", "before", 65535),
      interfaceDescription("a:nic0:delivered", "after", 32),
      enhancedPacket(0, ts, ethernet(0xa, 1), 65535, "outbound"),
      enhancedPacket(1, ts + 1500, ethernet(0xa, 1, 100), 32, "inbound"),
      enhancedPacket(0, ts + 3000, ethernet(0xa, 2, 61), 65535),
    ];
    const file = join(dir, "t.pcapng");
    writeFileSync(file, Buffer.concat(parts));
    const r = spawnSync("tshark", [
      "-r",
      file,
      "-T",
      "fields",
      "-e",
      "frame.interface_name",
      "-e",
      "frame.len",
      "-e",
      "frame.cap_len",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.p2p_dir",
      "-e",
      "eth.src",
    ], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => l.split("\t"));
    assert.deepEqual(rows.map((x) => [x[0], x[1], x[2], x[5]]), [
      ["a:nic0:sent", "60", "60", "02:00:00:00:00:0a"],
      ["a:nic0:delivered", "100", "32", "02:00:00:00:00:0a"],
      ["a:nic0:sent", "61", "61", "02:00:00:00:00:0a"],
    ]);
    assert.equal(rows[0][3], "1764700000.123456000");
    assert.equal(rows[1][3], "1764700000.124956000");
    // Wireshark shows outbound as "sent" (p2p_dir 0) and inbound as "received" (1).
    assert.deepEqual(rows.map((x) => x[4]), ["0", "1", ""], "outbound, inbound, no direction");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
