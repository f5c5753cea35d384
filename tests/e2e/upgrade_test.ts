// Upgrade: a data dir made by the previous release (0798dfe, whose networks ran on vde2),
// with two networks and two VMs that were running when the host lost power
// (tests/fixtures/upgrade/capture.sh made it). This daemon takes it over with nothing lost:
// networks, interfaces, addresses and QoS as they were; each network gets its link engine,
// no vde2 process is started, and the VMs boot on the engine with the QoS they had.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { E2E, guest, READY, TestDaemon } from "../helpers/env.ts";
import { guestSh, median, parsePing } from "../helpers/guest_shell.ts";
import { enginePids, vdePids } from "../helpers/networks.ts";

const FIXTURE = new URL("../fixtures/upgrade/prev-0798dfe.sql", import.meta.url);
/** A LinkQos without the wire's oneof markers (`_latency_ms`) and unset fields. */
const plain = (q: object | null | undefined) =>
  Object.fromEntries(
    Object.entries(q ?? {}).filter(([k, v]) => !k.startsWith("_") && v !== null && v !== undefined),
  );

Deno.test({
  name: "upgrade: a data dir of the previous release (vde2 networks) is taken over, nothing lost",
  ...E2E,
  fn: async () => {
    const guestDir = dirname(guest("x86_64").kernel);
    let before: Record<string, unknown> = {};
    const d = await TestDaemon.start((dir) => {
      const sql = readFileSync(FIXTURE, "utf8").replaceAll("@DATA@", dir)
        .replaceAll("@GUEST@", guestDir);
      const db = new DatabaseSync(join(dir, "state.db"));
      db.exec(sql);
      // What the previous release stored of each VM's interfaces, to compare with.
      const rows = db.prepare("SELECT name, spec FROM vms").all() as Array<
        { name: string; spec: string }
      >;
      before = Object.fromEntries(
        rows.map((r) => [r.name, JSON.parse(r.spec).network_interfaces]),
      );
      db.close();
    });
    try {
      const nets = Object.fromEntries(
        (await d.client.listNetworks({})).networks.map((n) => [n.meta!.name, n]),
      );
      assert.deepEqual(Object.keys(nets).sort(), ["lan", "wan"]);
      assert.equal(nets.lan.spec!.cidr, "10.88.0.0/24");
      assert.deepEqual(plain(nets.lan.spec!.link_qos), { latency_ms: 5 });
      assert.deepEqual(nets.lan.meta!.labels, { tier: "core" });
      assert.equal(nets.wan.spec!.mtu, 1400);
      assert.deepEqual(plain(nets.wan.spec!.link_qos), {
        latency_ms: 10,
        jitter_ms: 2,
        loss_percent: 0.5,
        rate_kbps: 50000,
      });
      for (const n of Object.values(nets)) {
        assert.equal(n.status!.state, "ACTIVE", `${n.meta!.name}: ${n.status!.message}`);
        assert.ok(n.status!.engine_pid > 0);
      }
      assert.equal(enginePids(d.dataDir).length, 2);

      // The VMs were running when the power went: stopped now, their interfaces intact.
      for (const name of ["a", "b"]) {
        const vm = await d.client.getVm(name);
        assert.equal(vm.status!.state, "STOPPED");
        assert.match(vm.status!.last_exit_reason, /while infrasimd was not running/);
        const nics = vm.spec!.network_interfaces.map((n) => ({
          network: n.network,
          ip: n.ip,
          mac: n.mac,
          link_qos: plain(n.link_qos),
        }));
        assert.deepEqual(nics, before[name], `${name}'s interfaces`);
      }
      const a0 = await d.client.getVm("a");
      assert.equal(a0.spec!.network_interfaces[0].ip, "10.88.0.10");
      assert.deepEqual(plain(a0.spec!.network_interfaces[1].link_qos), {
        loss_percent: 2,
        duplicate_percent: 1,
      });

      // They boot on the engine, and lan's latency (5 ms each way) is what they see.
      const start = d.cli(["vm", "start", "a", "b"]);
      assert.equal(start.code, 0, start.stderr);
      const [a, b] = [await d.client.getVm("a"), await d.client.getVm("b")];
      await d.waitSerial(a, READY);
      await d.waitSerial(b, READY);
      const ip = b.status!.links[0].ip;
      await guestSh(d.client, a, `ping -c 2 -W 2 ${ip}`);
      const r = parsePing((await guestSh(d.client, a, `ping -c 20 -i 0.1 -W 2 ${ip}`)).out);
      assert.equal(r.received, 20);
      const rtt = median(r.rtts);
      assert.ok(rtt >= 10 && rtt < 20, `RTT ${rtt} ms on lan (5 ms each way)`);
      const counters = await d.client.getNetworkCounters({ ref: "lan" });
      assert.equal(counters.links.filter((l) => l.connected).length, 2);
      assert.deepEqual(vdePids(d.dataDir), [], "no vde2 process");
    } finally {
      await d.cleanup();
    }
  },
});
