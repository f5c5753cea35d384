// Private networks between real VMs: reachability by IP, separation of segments, and a
// router VM that forwards between two networks.
import assert from "node:assert/strict";
import { e2eTest } from "../helpers/env.ts";
import { guestSh, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

/** A test guest on networks that is created stopped. */
const off = (name: string, nics: Parameters<typeof netVm>[1]) => {
  const r = netVm(name, nics);
  return { ...r, spec: { ...r.spec, power_state: "POWER_OFF" as const } };
};

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
    // Naming the same network by its id instead of its name is no change: no restart.
    const byId = await d.client.updateVm({
      ref: "a",
      spec: {
        ...a.spec!,
        network_interfaces: [{ ...a.spec!.network_interfaces[0], network: lan.meta!.id }],
      },
    });
    assert.equal(byId.status!.pid, a.status!.pid);
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

e2eTest("bad network input fails with the field named, and nothing is created", async (d) => {
  const invalid = async (p: Promise<unknown>, field: RegExp, code = "INVALID_ARGUMENT") => {
    const e = await p.then(() => undefined, (x) => x as ApiError);
    assert.ok(e, `accepted, expected ${field}`);
    assert.equal(Status[e.code], code, e.message);
    assert.match(e.message, field);
  };
  await d.client.createNetwork({ meta: { name: "a" }, spec: { cidr: "10.20.0.0/24" } });
  // Overlapping cidrs are separate segments: allowed.
  await d.client.createNetwork({ meta: { name: "b" }, spec: { cidr: "10.20.0.0/16" } });
  const net = (spec: object) => d.client.createNetwork({ meta: { name: "x" }, spec });
  await invalid(net({ cidr: "10.0.0.0/8" }), /^spec\.cidr: prefix \/8/);
  await invalid(net({ cidr: "10.20.0.0/30" }), /^spec\.cidr: /);
  await invalid(net({ cidr: "banana" }), /^spec\.cidr: "banana" is not an IPv4 cidr/);
  await invalid(net({ cidr: "10.0.0.0/24", mtu: 100 }), /^spec\.mtu: must be between 576/);
  await invalid(
    net({ cidr: "10.0.0.0/24", link_qos: { latency_ms: -5 } }),
    /^spec\.link_qos\.latency_ms: must be a whole number between 0 and 60000/,
  );
  await invalid(
    net({ cidr: "10.0.0.0/24", link_qos: { loss_percent: 101 } }),
    /^spec\.link_qos\.loss_percent: must be between 0 and 100/,
  );
  const vm = (name: string, n: object) => d.client.createVm(off(name, [n]));
  await d.client.createVm(off("one", [{ network: "a", ip: "10.20.0.5" }]));
  const bad: Array<[object, RegExp]> = [
    [
      { network: "a", ip: "10.20.0.5" },
      /ip: 10\.20\.0\.5 is already used on network "a" by VM "one"/,
    ],
    [{ network: "a", ip: "10.20.1.5" }, /ip: 10\.20\.1\.5 is outside 10\.20\.0\.0\/24/],
    [{ network: "a", ip: "10.20.0.0" }, /ip: 10\.20\.0\.0 is the network address/],
    [{ network: "a", ip: "10.20.0.255" }, /ip: 10\.20\.0\.255 is the broadcast address/],
    [{ network: "a", ip: "10.20.0.256" }, /ip: "10\.20\.0\.256" is not an IPv4 address/],
    [{ network: "a", link_qos: { latency_ms: -1 } }, /link_qos\.latency_ms: must be/],
    [{ network: "a", link_qos: { loss_percent: 100.5 } }, /link_qos\.loss_percent: must be/],
    [{ network: "a", mac: "01:00:5e:00:00:01" }, /mac: 01:00:5e:00:00:01 is a multicast/],
    [{ network: "nope" }, /network: network "nope" not found/],
  ];
  for (const [n, re] of bad) {
    await invalid(vm("two", n), new RegExp(`^spec\\.network_interfaces\\[0\\]\\.${re.source}`));
  }
  await invalid(
    d.client.deleteNetwork("a"),
    /network "a" is in use by vm "one"/,
    "FAILED_PRECONDITION",
  );
  assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms.map((v) => v.meta!.name), [
    "one",
  ]);
  assert.deepEqual(
    (await d.client.listNetworks({ label_selector: "" })).networks.map((n) => n.meta!.name),
    ["a", "b"],
  );
  assert.equal((await d.client.getNetwork("a")).status!.attachments.length, 1);
});

e2eTest(
  "concurrent creates on one network get distinct IPs and MACs, until the cidr is full",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.9.0.0/28" } });
    // A /28 holds 14 hosts: seven VMs with two NICs each fill it.
    const vms = await Promise.all(
      Array.from(
        { length: 7 },
        (_, i) => d.client.createVm(off(`v${i}`, [{ network: "n" }, { network: "n" }])),
      ),
    );
    const ips = vms.flatMap((v) => v.spec!.network_interfaces.map((n) => n.ip));
    const macs = vms.flatMap((v) => v.spec!.network_interfaces.map((n) => n.mac));
    assert.equal(new Set(ips).size, 14, `IPs: ${ips.join(" ")}`);
    assert.equal(new Set(macs).size, 14);
    const e = await d.client.createVm(off("full", [{ network: "n" }])).then(
      () => assert.fail("a VM was created on a full network"),
      (x) => x as ApiError,
    );
    assert.equal(Status[e.code], "INVALID_ARGUMENT");
    assert.match(
      e.message,
      /^spec\.network_interfaces\[0\]\.ip: network "n" has no free address left/,
    );
  },
);

e2eTest(
  "a network deleted while a VM is created on it: one of the two fails, never both succeed",
  async (d) => {
    for (let i = 0; i < 6; i++) {
      await d.client.createNetwork({ meta: { name: `race${i}` }, spec: { cidr: "10.8.0.0/24" } });
      const [del, vm] = await Promise.allSettled([
        d.client.deleteNetwork(`race${i}`),
        (async () => {
          await new Promise((r) => setTimeout(r, i * 5));
          return await d.client.createVm(off(`vm${i}`, [{ network: `race${i}` }]));
        })(),
      ]);
      assert.ok(
        del.status === "rejected" || vm.status === "rejected",
        `round ${i}: the network was deleted and a VM was created on it`,
      );
      if (vm.status === "fulfilled") {
        assert.equal((await d.client.getVm(`vm${i}`)).status!.links.length, 1);
        await d.client.deleteVm({ ref: `vm${i}`, force: true });
        await d.client.deleteNetwork(`race${i}`);
      }
    }
  },
);
