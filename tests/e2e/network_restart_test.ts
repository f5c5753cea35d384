// Networks outlive the daemon: kill -9 of infrasimd leaves traffic flowing, the next one
// adopts every link engine without doubling any, and a killed engine is repaired within a
// second while the VMs keep running.
import assert from "node:assert/strict";
import { e2eTest, sleep } from "../helpers/env.ts";
import { guestSh, median, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, enginePids, netVm, vdePids } from "../helpers/networks.ts";

e2eTest(
  "kill -9 of infrasimd with two networks and four VMs: traffic flows, nothing doubles, QoS still changes",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "n1" }, spec: { cidr: "10.70.0.0/24" } });
    await d.client.createNetwork({ meta: { name: "n2" }, spec: { cidr: "10.71.0.0/24" } });
    const [a, b] = await bootAll(d, [
      netVm("a", [{ network: "n1", ip: "10.70.0.2" }]),
      netVm("b", [{ network: "n1", ip: "10.70.0.3" }]),
      netVm("c", [{ network: "n2", ip: "10.71.0.2" }]),
      netVm("e", [{ network: "n2", ip: "10.71.0.3" }]),
    ]);
    const counts = () => ({
      engines: enginePids(d.dataDir).length,
      vde: vdePids(d.dataDir).length,
    });
    const expected = { engines: 2, vde: 0 };
    assert.deepEqual(counts(), expected);
    await guestSh(d.client, a, "ping -c 2 -W 2 10.70.0.3");
    // A ping in the background of the guest, across the daemon's death and restart.
    await guestSh(d.client, a, "ping -c 60 -i 0.1 10.70.0.3 > /tmp/p.log 2>&1 &");
    await sleep(500);
    await d.kill9();
    await sleep(3000);
    await d.launch();
    await sleep(3000);
    const log = parsePing((await guestSh(d.client, a, "cat /tmp/p.log")).out);
    assert.equal(log.transmitted, 60, "the ping ran to its end");
    assert.ok(log.received >= 58, `${log.received} of 60 replies while the daemon was away`);
    assert.deepEqual(counts(), expected, "no engine doubled, none lost");
    const vm = await d.client.getVm("a");
    assert.equal(vm.status!.pid, a.status!.pid);
    assert.equal(vm.status!.links[0].state, "up");

    // QoS can still be changed through the new daemon.
    await d.client.updateVm({
      ref: "b",
      spec: {
        ...b.spec!,
        network_interfaces: [{ ...b.spec!.network_interfaces[0], link_qos: { latency_ms: 40 } }],
      },
    });
    const slow = parsePing((await guestSh(d.client, a, "ping -c 10 -i 0.1 10.70.0.3")).out);
    const m = median(slow.rtts);
    assert.ok(m >= 40 && m < 55, `median RTT ${m} ms after b's latency became 40`);
    assert.equal((await d.client.getVm("b")).status!.pid, b.status!.pid, "applied live");

    // kill -9 of the network's engine: the link is back within 1 s; the VMs never noticed.
    const uptime = async () =>
      Number((await guestSh(d.client, a, "cut -d' ' -f1 /proc/uptime")).out.trim());
    const before = await uptime();
    // 60 pings 50 ms apart, the engine killed a second in: each lost one is 50 ms of outage.
    await guestSh(d.client, a, "ping -c 60 -i 0.05 -W 2 10.70.0.3 > /tmp/k.log 2>&1 &");
    await sleep(1000);
    const [engine] = enginePids(d.dataDir, vm.status!.links[0].network_id);
    process.kill(engine, "SIGKILL");
    await sleep(3500);
    const k = parsePing((await guestSh(d.client, a, "cat /tmp/k.log")).out);
    assert.equal(k.transmitted, 60, "the ping ran to its end");
    const outageMs = (60 - k.received) * 50;
    console.log(`engine kill -9: ${60 - k.received} of 60 pings lost (~${outageMs} ms)`);
    assert.ok(
      outageMs <= 1000,
      `${60 - k.received} of 60 lost: the link was out about ${outageMs} ms`,
    );
    assert.deepEqual(counts(), expected);
    assert.equal((await d.client.getVm("a")).status!.pid, a.status!.pid, "same QEMU");
    assert.ok((await uptime()) > before, "the guest did not reboot");
    const slowAgain = parsePing((await guestSh(d.client, a, "ping -c 5 -i 0.1 10.70.0.3")).out);
    assert.ok(median(slowAgain.rtts) >= 40, "the restarted engine kept b's latency");
  },
);

e2eTest("stopping a VM stops its links; deleting its network then works", async (d) => {
  await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.72.0.0/24" } });
  const [a] = await bootAll(d, [netVm("a", [{ network: "n" }])]);
  const engine = enginePids(d.dataDir);
  assert.equal(engine.length, 1);
  const net = a.status!.links[0].network_id;
  const linksOf = async () =>
    (await d.client.getNetwork(net)).status!.attachments.filter((x) => x.state === "up").length;
  assert.equal(await linksOf(), 1);
  await d.client.stopVm({ ref: "a", force: true });
  assert.equal(await linksOf(), 0);
  assert.deepEqual(enginePids(d.dataDir), engine, "the engine stays with its network");
  const stopped = await d.client.getVm("a");
  assert.equal(stopped.status!.links[0].state, "down");
  await d.client.deleteVm({ ref: "a", force: true });
  await d.client.deleteNetwork("n");
  assert.deepEqual(enginePids(d.dataDir), []);
});

e2eTest(
  "a link engine killed while infrasimd is down: the next daemon starts it, the links come back",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.73.0.0/24" } });
    const [a] = await bootAll(d, [
      netVm("a", [{ network: "n", ip: "10.73.0.2" }]),
      netVm("b", [{ network: "n", ip: "10.73.0.3" }]),
    ]);
    assert.equal((await guestSh(d.client, a, "ping -c 2 -W 2 10.73.0.3")).code, 0);
    await d.kill9();
    for (const p of enginePids(d.dataDir)) process.kill(p, "SIGKILL");
    await sleep(300);
    await d.launch();
    const p = await guestSh(d.client, a, "ping -c 3 -W 2 10.73.0.3");
    assert.equal(p.code, 0, p.out);
    assert.equal(enginePids(d.dataDir).length, 1);
  },
);
