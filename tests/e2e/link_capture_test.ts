// Packet capture on a link, read by the real tshark: with loss 20% on a's link, the `sent`
// point holds every echo request a's guest sent and the `delivered` point only those that
// got through, exactly as many as the guest's ping saw answered; bad requests name the
// field; capture stops at --count and on Ctrl-C, leaving a file tshark reads.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { e2eTest, INFRASIM, sleep, waitFor } from "../helpers/env.ts";
import { guestSh, parsePing } from "../helpers/guest_shell.ts";
import { tsharkFields } from "../helpers/tshark.ts";
import { bootAll, netVm } from "../helpers/networks.ts";
import { ApiError } from "../../src/api/errors.ts";

/**
 * Echo requests (ICMP type 8) in a capture, by interface name: those of one ping run (the
 * ICMP identifier most requests carry). An earlier run's requests can still leave late:
 * the kernel holds them while ARP is unresolved, after that ping has given up.
 */
function echoRequests(file: string): Map<string, number[]> {
  const rows = tsharkFields(file, "icmp.type == 8", [
    "frame.interface_name",
    "icmp.seq",
    "icmp.ident",
  ]);
  const idents = new Map<string, number>();
  for (const [, , id] of rows) idents.set(id, (idents.get(id) ?? 0) + 1);
  const main = [...idents].sort((x, y) => y[1] - x[1])[0]?.[0];
  const out = new Map<string, number[]>();
  for (const [iface, seq, id] of rows) {
    if (id === main) out.set(iface, [...(out.get(iface) ?? []), Number(seq)]);
  }
  return out;
}

e2eTest(
  "capture: the sent point has every request, the delivered one what got through",
  async (d) => {
    const dir = mkdtempSync("/tmp/cap-");
    try {
      await d.client.createNetwork({ meta: { name: "cap" }, spec: { cidr: "10.35.0.0/24" } });
      const [a, b] = await bootAll(d, [
        netVm("a", [{ network: "cap", link_qos: { loss_percent: 20 } }]),
        netVm("b", [{ network: "cap" }]),
      ]);
      const ip = b.status!.links[0].ip;
      await guestSh(d.client, a, `ping -c 3 -i 0.2 -W 1 ${ip}`); // ARP, through the loss

      // The CLI writes the file until Ctrl-C.
      const file = join(dir, "a.pcapng");
      const cli = spawn(INFRASIM, ["network", "capture", "cap", "--vm", "a", "-w", file], {
        env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      cli.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
      const exited = new Promise<void>((r) => cli.on("exit", () => r()));
      await sleep(1500); // the capture is open
      const p = parsePing((await guestSh(d.client, a, `ping -c 100 -i 0.05 -W 2 ${ip}`)).out);
      assert.equal(p.transmitted, 100);
      await sleep(500);
      cli.kill("SIGINT");
      // Ctrl-C ends it quietly, the file complete (Deno's child_process reports the signal
      // it sent, not the exit code, so the file and stderr are what is checked).
      await exited;
      assert.equal(stderr, "");

      const reqs = echoRequests(file);
      const sent = reqs.get("a:nic0:sent") ?? [];
      const delivered = reqs.get("a:nic0:delivered") ?? [];
      console.log(
        `capture: ${sent.length} requests sent, ${delivered.length} delivered; ping got ${p.received}`,
      );
      assert.deepEqual(sent, [...Array(100).keys()], "every echo request, in order");
      assert.equal(delivered.length, p.received, "delivered = the replies the guest counted");
      assert.ok(
        delivered.length >= 65 && delivered.length <= 94,
        `${delivered.length} of 100 at loss 20%`,
      );
      assert.ok(delivered.every((s) => sent.includes(s)));

      // --count stops the stream by itself; stdout works as the file.
      await guestSh(d.client, a, `ping -c 50 -i 0.05 -W 2 ${ip} >/dev/null 2>&1 &`);
      const counted = spawnSync(
        "bash",
        [
          "-c",
          `"${INFRASIM}" network capture cap --vm a:0 --point sent --count 20 -w - > ${dir}/c.pcapng`,
        ],
        {
          env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
          timeout: 60_000,
        },
      );
      assert.equal(counted.status, 0, String(counted.stderr));
      const n = spawnSync(
        "tshark",
        ["-r", `${dir}/c.pcapng`, "-T", "fields", "-e", "frame.number"],
        {
          encoding: "utf8",
        },
      );
      assert.equal(n.stdout.trim().split("\n").length, 20);

      // A reader that stops reading costs the link nothing: the engine drops capture frames
      // (counted), and a 32 MB transfer through the captured link completes.
      assert.equal(d.cli(["network", "qos", "cap", "--vm", "a", "--reset"]).code, 0);
      await guestSh(d.client, b, "dd if=/dev/zero of=/www/big bs=1M count=32 2>/dev/null");
      const fetch = async () => {
        const t0 = Date.now();
        const t = await guestSh(
          d.client,
          a,
          `wget -q -O /dev/null http://${ip}/big && echo fetched`,
          120_000,
        );
        assert.match(t.out, /fetched/);
        return Date.now() - t0;
      };
      const free = await fetch();
      // On a connection of its own: a stream nobody reads stalls every call sharing its
      // HTTP/2 connection (the window is per connection too), the guest's console included.
      const other = d.tcpClient(d.token);
      const stuck = other.captureNetwork({ ref: "cap", vm: "a" }, () => false);
      await sleep(500);
      const held = await fetch();
      console.log(`32 MB: ${free} ms without a capture, ${held} ms beside a stuck one`);
      assert.ok(held < free * 3 + 3000, "a stuck capture does not slow the link");
      const cs = await d.client.getNetworkCounters({ ref: "cap" });
      assert.ok(cs.capture_dropped > 0, `capture drops ${cs.capture_dropped}`);
      console.log(
        `stuck capture reader: ${cs.capture_dropped} capture frames dropped, the transfer completed`,
      );
      stuck.cancel();
      await stuck.done;
      other.close();

      // Capture off again: the link runs on.
      await waitFor(
        "b still answers",
        async () => (await guestSh(d.client, a, `ping -c 1 -W 1 ${ip}`)).code === 0 || undefined,
        10_000,
      );

      // Bad requests name their field; nothing is streamed.
      const bad = await new Promise<unknown>((resolve) => {
        const job = d.client.captureNetwork({
          ref: "cap",
          vm: "a",
          interface: 3,
          point: "middle",
          count: -1,
        }, () => true);
        job.done.then(() => resolve(undefined), resolve);
      });
      assert.ok(bad instanceof ApiError, String(bad));
      assert.deepEqual(bad.violations.map((v) => v.field).sort(), ["count", "interface", "point"]);
      const cliBad = d.cli(["network", "capture", "cap", "--vm", "nobody", "-w", `${dir}/x`]);
      // The daemon's answer (exit 1, not a local usage error), named as the flag.
      assert.equal(cliBad.code, 1, cliBad.stderr);
      assert.match(cliBad.stderr, /INVALID_ARGUMENT: --vm: vm "nobody" not found/);
      await d.client.stopVm({ ref: "a", force: true });
      const stopped = d.cli(["network", "capture", "cap", "--vm", "a", "-w", `${dir}/y`]);
      assert.notEqual(stopped.code, 0);
      assert.match(stopped.stderr, /vm "a" is not running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
