// Networks outlive the daemon: kill -9 of infrasimd leaves traffic flowing, the next one
// adopts every switch and filter without doubling any, and a killed filter or switch is
// repaired while the VMs keep running.
import assert from "node:assert/strict";
import { e2eTest, sleep, waitFor } from "../helpers/env.ts";
import { guestSh, median, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, netVm, vdePids } from "../helpers/networks.ts";

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
      networkSwitches: vdePids(d.dataDir, "vde_switch", "net/").length,
      portSwitches: vdePids(d.dataDir, "vde_switch", "vms/").length,
      filters: vdePids(d.dataDir, "wirefilter").length,
    });
    const expected = { networkSwitches: 2, portSwitches: 4, filters: 4 };
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
    assert.deepEqual(counts(), expected, "no switch or filter doubled, none lost");
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

    // kill -9 of a link's wirefilter: the link is back within 2 s.
    const [filter] = vdePids(d.dataDir, "wirefilter", `vms/${a.meta!.id}/`);
    process.kill(filter, "SIGKILL");
    const killed = Date.now();
    const back = await waitFor(
      "the link to come back",
      async () => {
        const p = await guestSh(d.client, a, "ping -c 1 -W 1 10.70.0.3");
        return p.code === 0 ? Date.now() : undefined;
      },
      10_000,
      50,
    );
    assert.ok(back - killed < 2000, `the link came back after ${back - killed} ms`);
    assert.equal(vdePids(d.dataDir, "wirefilter").length, 4);

    // kill -9 of a network's switch: it is started again and its links plugged back in.
    const [sw] = vdePids(d.dataDir, "vde_switch", `net/${vm.status!.links[0].network_id}/`);
    process.kill(sw, "SIGKILL");
    await waitFor(
      "n1 to carry traffic again",
      async () => {
        const p = await guestSh(d.client, a, "ping -c 1 -W 1 10.70.0.3");
        return p.code === 0;
      },
      15_000,
      100,
    );
    assert.deepEqual(counts(), expected);
  },
);

e2eTest("stopping a VM stops its links; deleting its network then works", async (d) => {
  await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.72.0.0/24" } });
  await bootAll(d, [netVm("a", [{ network: "n" }])]);
  assert.equal(vdePids(d.dataDir, "wirefilter").length, 1);
  await d.client.stopVm({ ref: "a", force: true });
  assert.deepEqual(vdePids(d.dataDir, "wirefilter"), []);
  assert.deepEqual(vdePids(d.dataDir, "vde_switch", "vms/"), []);
  const stopped = await d.client.getVm("a");
  assert.equal(stopped.status!.links[0].state, "down");
  await d.client.deleteVm({ ref: "a", force: true });
  await d.client.deleteNetwork("n");
  assert.deepEqual(vdePids(d.dataDir, "vde_switch"), []);
});

e2eTest(
  "a network switch killed while infrasimd is down: the next daemon plugs the links back in",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.73.0.0/24" } });
    const [a] = await bootAll(d, [
      netVm("a", [{ network: "n", ip: "10.73.0.2" }]),
      netVm("b", [{ network: "n", ip: "10.73.0.3" }]),
    ]);
    assert.equal((await guestSh(d.client, a, "ping -c 2 -W 2 10.73.0.3")).code, 0);
    await d.kill9();
    for (const p of vdePids(d.dataDir, "vde_switch", "net/")) process.kill(p, "SIGKILL");
    await sleep(300);
    await d.launch();
    const p = await guestSh(d.client, a, "ping -c 3 -W 2 10.73.0.3");
    assert.equal(p.code, 0, p.out);
    assert.equal(vdePids(d.dataDir, "vde_switch", "net/").length, 1);
    assert.equal(vdePids(d.dataDir, "wirefilter").length, 2);
  },
);
