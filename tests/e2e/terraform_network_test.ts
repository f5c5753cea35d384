// infrasim_network with the real terraform: two segments and a router VM between them,
// addresses allocated and kept in state, link_qos changed in place without restarting
// anything, a restart announced when interfaces change, drift, import and destroy.
import assert from "node:assert/strict";
import { e2eTest, guest, GUEST_DIR, READY } from "../helpers/env.ts";
import { guestSh, median, parsePing } from "../helpers/guest_shell.ts";
import { enginePids } from "../helpers/networks.ts";
import { assertImportPlansEmpty, vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");
const withCmdline = (extra: string) => ({ ...g, cmdline: `${g.cmdline} ${extra}` });

const networks = (latency: number) => `
resource "infrasim_network" "left" {
  name = "left"
  cidr = "10.1.0.0/24"
}

resource "infrasim_network" "right" {
  name = "right"
  cidr = "10.2.0.0/24"
  seed = 42
  link_qos {
    latency_ms = ${latency}
  }
}
`;

const nic = (net: string, ip?: string, qos = "") =>
  `  network_interface {\n    network_id = infrasim_network.${net}.id\n${
    ip ? `    ip         = "${ip}"\n` : ""
  }${qos}  }\n`;

function config(o: { latency: number; clientQos?: string; extraNic?: boolean }): string {
  return networks(o.latency) +
    vmHcl(
      "router",
      withCmdline("infrasim.forward=1"),
      nic("left", "10.1.0.1") + nic("right", "10.2.0.1"),
    ) +
    vmHcl(
      "client",
      withCmdline("infrasim.route=10.2.0.0/24,10.1.0.1"),
      nic("left", undefined, o.clientQos ?? "") + (o.extraNic ? nic("right") : ""),
    ) +
    vmHcl("server", withCmdline("infrasim.route=10.1.0.0/24,10.2.0.1"), nic("right", "10.2.0.20")) +
    `data "infrasim_network" "right" {\n  name       = infrasim_network.right.name\n` +
    `  depends_on = [infrasim_vm.server, infrasim_vm.router, infrasim_vm.client]\n}\n` +
    `output "client_ip" { value = infrasim_vm.client.network_interface[0].ip }\n` +
    `output "on_right" { value = join(",", sort(data.infrasim_network.right.attachments[*].ip)) }\n`;
}

e2eTest(
  "terraform: two networks, a router between them, link_qos live, drift, import",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(config({ latency: 30 }));
      await ws.apply();
      assert.equal(await ws.output("client_ip"), "10.1.0.10", "allocated, kept in state");
      assert.equal(await ws.output("on_right"), "10.2.0.1,10.2.0.20");
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0, "no drift");
      const client = await d.client.getVm("client");
      for (const n of ["router", "client", "server"]) {
        await d.waitSerial(
          await d.client.getVm(n),
          READY,
        );
      }
      const rtt = async () => {
        const p = await guestSh(d.client, client, "ping -c 6 -i 0.2 -W 3 10.2.0.20");
        assert.equal(p.code, 0, p.out);
        assert.match(p.out, /ttl=63/, "through the router");
        return median(parsePing(p.out).rtts);
      };
      await guestSh(d.client, client, "ping -c 2 -W 3 10.2.0.20");
      // right's default applies to what the router and the server send into it.
      const r30 = await rtt();
      assert.ok(r30 >= 60 && r30 < 75, `RTT ${r30} ms with latency 30 on right`);

      assert.equal((await d.client.getNetwork("right")).spec!.seed, 42);

      // link_qos of the network, in place: no VM changes, none restarts.
      const pids = () =>
        Promise.all(
          ["router", "client", "server"].map(async (n) => (await d.client.getVm(n)).status!.pid),
        );
      const before = await pids();
      ws.write(config({ latency: 5 }));
      let plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /infrasim_network\.right will be updated in-place/);
      assert.match(plan.stdout, /latency_ms\s+= 30 -> 5/);
      assert.doesNotMatch(plan.stdout, /infrasim_vm\.\w+ will be/);
      await ws.apply();
      const r5 = await rtt();
      assert.ok(r5 < 25, `RTT ${r5} ms with latency 5`);

      // A link's own override, in place.
      const qos = "    link_qos {\n      latency_ms = 40\n    }\n";
      ws.write(config({ latency: 5, clientQos: qos }));
      plan = await ws.run("plan");
      assert.match(plan.stdout, /infrasim_vm\.client will be updated in-place/);
      assert.doesNotMatch(plan.stdout + plan.stderr, /will restart/);
      await ws.apply();
      const r45 = await rtt();
      assert.ok(r45 >= 50 && r45 < 65, `RTT ${r45} ms with 40 on the client's link`);
      assert.deepEqual(await pids(), before, "no VM restarted");
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);

      // Changed outside Terraform: drift.
      await d.client.updateNetwork({
        ref: "right",
        spec: { cidr: "10.2.0.0/24", link_qos: { latency_ms: 99 } },
      });
      plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /latency_ms\s+= 99 -> 5/);
      await ws.apply();

      // Another interface: the plan says the VM restarts.
      ws.write(config({ latency: 5, clientQos: qos, extraNic: true }));
      plan = await ws.run("plan");
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(plan.stdout + plan.stderr, /Warning: VM client will restart/);
      await ws.apply();
      const moved = await d.client.getVm("client");
      assert.notEqual(moved.status!.pid, before[1]);
      assert.equal(moved.status!.links[1].network_name, "right");
      plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 0, plan.stdout);

      await assertImportPlansEmpty(d, config({ latency: 5, clientQos: qos, extraNic: true }), [
        ["infrasim_network.left", "left"],
        ["infrasim_network.right", "right"],
        ["infrasim_vm.router", "router"],
        ["infrasim_vm.client", "client"],
        ["infrasim_vm.server", "server"],
      ]);

      await ws.destroy();
      assert.deepEqual((await d.client.listNetworks({ label_selector: "" })).networks, []);
      assert.deepEqual(enginePids(d.dataDir), []);
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest("terraform: a network deleted outside Terraform plans a re-create", async (d) => {
  const ws = new Workspace(d);
  try {
    ws.write(networks(5));
    await ws.apply();
    await d.client.deleteNetwork("left");
    const plan = await ws.run("plan", "-detailed-exitcode");
    assert.equal(plan.code, 2);
    assert.match(plan.stdout, /infrasim_network\.left will be created/);
    const bad = await ws.run("plan");
    assert.equal(bad.code, 0);
    ws.write(networks(-1));
    const invalid = await ws.run("plan");
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /Invalid link_qos\.0\.latency_ms/);
    ws.write(networks(5));
    await ws.destroy();
  } finally {
    ws.cleanup();
  }
});

e2eTest(
  "terraform: examples/terraform/wan applies; the client reaches the server through the router",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.writeExample("examples/terraform/wan/main.tf");
      const r = await ws.run("apply", "-auto-approve", "-var", `guest_dir=${GUEST_DIR}`);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await ws.output("client_ip"), "10.1.0.10");
      const client = await d.client.getVm("client");
      for (const n of ["router", "client", "server"]) {
        await d.waitSerial(await d.client.getVm(n), READY);
      }
      await guestSh(d.client, client, "ping -c 2 -W 3 10.2.0.20");
      const p = await guestSh(d.client, client, "ping -c 10 -i 0.2 -W 3 10.2.0.20");
      assert.match(p.out, /ttl=63/);
      // The router's 40 ms into the WAN plus the server's own 80 ms.
      const m = median(parsePing(p.out).rtts);
      assert.ok(m >= 120 && m < 150, `RTT ${m} ms`);
      const down = await ws.run("destroy", "-auto-approve", "-var", `guest_dir=${GUEST_DIR}`);
      assert.equal(down.code, 0, down.stdout + down.stderr);
    } finally {
      ws.cleanup();
    }
  },
);
