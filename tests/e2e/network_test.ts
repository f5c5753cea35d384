// Private networks between real VMs: reachability by IP, separation of segments, and a
// router VM that forwards between two networks.
import assert from "node:assert/strict";
import { e2eTest } from "../helpers/env.ts";
import { guestSh, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";

e2eTest(
  "two VMs on a network reach each other by IP; a VM on another network does not",
  async (d) => {
    const lan = await d.client.createNetwork({
      meta: { name: "lan" },
      spec: { cidr: "10.20.0.0/24" },
    });
    assert.equal(lan.status!.state, "ACTIVE");
    await d.client.createNetwork({ meta: { name: "other" }, spec: { cidr: "10.20.0.0/24" } });
    const [a, b, c] = await bootAll(d, [
      netVm("a", [{ network: "lan" }]),
      netVm("b", [{ network: "lan", ip: "10.20.0.2" }]),
      netVm("c", [{ network: "other", ip: "10.20.0.3" }]),
    ]);
    assert.equal(a.status!.links[0].ip, "10.20.0.10", "allocated from the cidr");
    assert.equal(a.status!.links[0].state, "up");
    assert.equal(b.spec!.network_interfaces[0].ip, "10.20.0.2");
    const ok = await guestSh(d.client, a, "ping -c 3 -W 2 10.20.0.2");
    assert.equal(ok.code, 0, ok.out);
    assert.equal(parsePing(ok.out).received, 3);
    const sep = await guestSh(d.client, c, "ping -c 2 -W 1 10.20.0.10");
    assert.notEqual(sep.code, 0, `c must not reach a on another network: ${sep.out}`);
    const net = await d.client.getNetwork("lan");
    assert.deepEqual(net.status!.attachments.map((x) => [x.vm_name, x.ip, x.state]).sort(), [
      ["a", "10.20.0.10", "up"],
      ["b", "10.20.0.2", "up"],
    ]);
  },
);

e2eTest(
  "a router VM with an interface on each of two networks forwards between them",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "left" }, spec: { cidr: "10.1.0.0/24" } });
    await d.client.createNetwork({ meta: { name: "right" }, spec: { cidr: "10.2.0.0/24" } });
    const [r, a] = await bootAll(d, [
      netVm("router", [
        { network: "left", ip: "10.1.0.1" },
        { network: "right", ip: "10.2.0.1" },
      ], "infrasim.forward=1"),
      netVm("a", [{ network: "left" }], "infrasim.route=10.2.0.0/24,10.1.0.1"),
      netVm("b", [{ network: "right", ip: "10.2.0.20" }], "infrasim.route=10.1.0.0/24,10.2.0.1"),
    ]);
    assert.notEqual(r.status!.links[0].mac, r.status!.links[1].mac, "one MAC per NIC");
    const p = await guestSh(d.client, a, "ping -c 3 -W 2 10.2.0.20");
    assert.equal(p.code, 0, p.out);
    // One hop through the router: the reply's TTL is one less than the guest's 64.
    assert.match(p.out, /from 10\.2\.0\.20: seq=\d+ ttl=63 /);
    // Without the router's forwarding the two segments are apart.
    await guestSh(d.client, r, "echo 0 > /proc/sys/net/ipv4/ip_forward");
    const off = await guestSh(d.client, a, "ping -c 2 -W 1 10.2.0.20");
    assert.notEqual(off.code, 0, off.out);
  },
);
