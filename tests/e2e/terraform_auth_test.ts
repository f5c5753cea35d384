// The provider over the daemon's TCP listener: the token from the data dir or the
// sensitive `token` attribute; non-loopback addresses refused on the attribute.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { e2eTest, guest } from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");

function tcpConfig(address: string, tokenLine = ""): string {
  return `terraform {\n  required_providers {\n    infrasim = { source = "infrasim/infrasim" }\n  }\n}\n\n` +
    `variable "tok" {\n  type      = string\n  default   = ""\n  sensitive = true\n}\n\n` +
    `provider "infrasim" {\n  daemon_address = "${address}"\n${tokenLine}}\n\n` +
    vmHcl("tcp-vm", g, "  running   = false\n", "vm");
}

e2eTest(
  "provider over TCP: the token is read from the data dir, or given as a sensitive attribute",
  async (d) => {
    const ws = new Workspace(d);
    const empty = mkdtempSync("/tmp/isd-notoken-");
    try {
      const tcp = `127.0.0.1:${d.tcpPort}`;
      // Same user, same data dir: the provider finds the token file.
      ws.write(tcpConfig(tcp), "tcp.tf");
      await ws.apply();
      assert.equal((await d.client.getVm("tcp-vm")).status!.state, "PENDING");

      // No token anywhere: one clear error, nothing changed.
      ws.env = { INFRASIM_DATA_DIR: empty, INFRASIM_TOKEN: "" };
      const refused = await ws.run("plan");
      assert.equal(refused.code, 1);
      assert.match(
        refused.stdout + refused.stderr,
        /Error: infrasimd refused the provider.s token[\s\S]*UNAUTHENTICATED/,
      );

      // The token as a sensitive variable: served, and never printed.
      ws.write(tcpConfig(tcp, "  token          = var.tok\n"), "tcp.tf");
      const plan = await ws.run("plan", "-detailed-exitcode", `-var=tok=${d.token}`);
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
      assert.ok(!(plan.stdout + plan.stderr).includes(d.token), "the token is not printed");
      const destroy = await ws.run("destroy", "-auto-approve", `-var=tok=${d.token}`);
      assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
      assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms, []);
    } finally {
      ws.cleanup();
      rmSync(empty, { recursive: true, force: true });
    }
  },
);

e2eTest("provider: a non-loopback daemon_address is refused on the attribute", async (d) => {
  const ws = new Workspace(d);
  try {
    for (const address of ["remote.example.com:50051", "http://10.1.2.3:50051"]) {
      ws.write(tcpConfig(address), "tcp.tf");
      const r = await ws.run("plan");
      assert.equal(r.code, 1, address);
      const out = r.stdout + r.stderr;
      assert.match(out, /Error: Invalid daemon_address/, address);
      assert.match(out, /loopback only; remote daemons\s+are not supported yet/, address);
      assert.match(out, /daemon_address = "/, `${address}: the diagnostic points at the line`);
    }
    // The same from the environment, when the provider block leaves the address out.
    ws.write(tcpConfig("x").replace(/ {2}daemon_address = "x"\n/, ""), "tcp.tf");
    ws.env = { INFRASIM_DAEMON_ADDRESS: "remote.example.com:50051" };
    const env = await ws.run("plan");
    assert.equal(env.code, 1);
    assert.match(
      env.stdout + env.stderr,
      /INFRASIM_DAEMON_ADDRESS: infrasimd runs on this machine/,
    );
    assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms, []);
  } finally {
    ws.cleanup();
  }
});
