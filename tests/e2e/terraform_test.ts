// The real `terraform` against the compiled provider, a real daemon and real QEMU.
import assert from "node:assert/strict";
import { e2eTest, guest, guestCliArgs, httpGet, qemuPids, READY } from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");

e2eTest(
  "terraform: apply boots, plan is empty, memory updates in place, running toggles, destroy cleans up",
  async (d) => {
    const ws = new Workspace(d);
    try {
      const hcl = (extra: string) =>
        vmHcl(
          "tf-web",
          g,
          `  labels    = { env = "test" }\n${extra}  port_forward {\n    guest_port = 80\n  }\n`,
          "web",
        ) +
        `output "port" { value = infrasim_vm.web.port_forward[0].host_port }\n` +
        `output "id" { value = infrasim_vm.web.id }\n`;
      ws.write(hcl(""));
      await ws.apply();
      const vm = await d.client.getVm("tf-web");
      assert.equal(vm.status!.state, "RUNNING");
      await d.waitSerial(vm, READY);
      assert.equal(await ws.output("id"), vm.meta!.id);
      const port = Number(await ws.output("port"));
      assert.equal(port, vm.status!.port_forwards[0].host_port);
      assert.equal(await httpGet(port), "infrasim-guest-ok");

      const again = await ws.run("plan", "-detailed-exitcode");
      assert.equal(again.code, 0, `second plan is not empty:\n${again.stdout}${again.stderr}`);

      ws.write(hcl("").replace("memory_mb = 256", "memory_mb = 384"));
      const plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /will be updated in-place/);
      assert.match(plan.stdout, /~ memory_mb\s+= 256 -> 384/);
      assert.match(plan.stdout, /Plan: 0 to add, 1 to change, 0 to destroy/);
      await ws.apply();
      assert.equal((await d.client.getVm("tf-web")).spec!.memory_mb, 384);
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);

      ws.write(hcl("  running   = false\n").replace("memory_mb = 256", "memory_mb = 384"));
      await ws.apply();
      assert.equal((await d.client.getVm("tf-web")).status!.state, "STOPPED");
      assert.deepEqual(qemuPids(vm.meta!.id), []);
      ws.write(hcl("  running   = true\n").replace("memory_mb = 256", "memory_mb = 384"));
      await ws.apply();
      const back = await d.client.getVm("tf-web");
      assert.equal(back.status!.state, "RUNNING");
      assert.equal(back.status!.port_forwards[0].host_port, port, "the host port is kept");

      const destroy = await ws.run("destroy", "-auto-approve");
      assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
      assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms, []);
      assert.deepEqual(qemuPids(vm.meta!.id), []);
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest(
  "terraform: an import block adopts a VM made with the CLI, and the plan is then empty",
  async (d) => {
    const ws = new Workspace(d);
    try {
      const c = d.cli([
        "vm",
        "create",
        "--name",
        "handmade",
        ...guestCliArgs(g),
        "--port",
        "80",
        "--label",
        "team=infra",
        "--start",
      ]);
      assert.equal(c.code, 0, c.stderr);
      ws.write(
        `import {\n  to = infrasim_vm.imported\n  id = "handmade"\n}\n\n` +
          vmHcl(
            "handmade",
            g,
            `  labels    = { team = "infra" }\n  port_forward {\n    guest_port = 80\n  }\n`,
            "imported",
          ),
      );
      const plan = await ws.run("plan");
      assert.match(
        plan.stdout,
        /Plan: 1 to import, 0 to add, 0 to change, 0 to destroy/,
        plan.stdout + plan.stderr,
      );
      await ws.apply();
      const after = await ws.run("plan", "-detailed-exitcode");
      assert.equal(
        after.code,
        0,
        `plan after import is not empty:\n${after.stdout}${after.stderr}`,
      );
      // terraform import (the command) works by name too.
      const ws2 = new Workspace(d);
      try {
        ws2.write(
          vmHcl(
            "handmade",
            g,
            `  labels    = { team = "infra" }\n  port_forward {\n    guest_port = 80\n  }\n`,
            "cmd",
          ),
        );
        const imp = await ws2.run("import", "infrasim_vm.cmd", "handmade");
        assert.equal(imp.code, 0, imp.stdout + imp.stderr);
        assert.equal((await ws2.run("plan", "-detailed-exitcode")).code, 0);
      } finally {
        ws2.cleanup();
      }
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest(
  "terraform: drift — a VM stopped with the CLI plans a start, a deleted one plans a create",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(vmHcl("drifty", g, "", "drifty"));
      await ws.apply();
      assert.equal(d.cli(["vm", "stop", "--force", "drifty"]).code, 0);
      const plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /~ running\s+= false -> true/);
      await ws.apply();
      assert.equal((await d.client.getVm("drifty")).status!.state, "RUNNING");

      // QEMU dying is drift too.
      process.kill((await d.client.getVm("drifty")).status!.pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 500));
      assert.match((await ws.run("plan")).stdout, /~ state\s+= "CRASHED" -> "RUNNING"/);

      assert.equal(d.cli(["vm", "delete", "drifty"]).code, 0);
      const gone = await ws.run("plan", "-detailed-exitcode");
      assert.equal(gone.code, 2);
      assert.match(gone.stdout, /infrasim_vm\.drifty will be created/);
      assert.match(gone.stdout, /Plan: 1 to add, 0 to change, 0 to destroy/);
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest("terraform: count = 4 applies in parallel and all four run", async (d) => {
  const ws = new Workspace(d);
  try {
    ws.write(
      vmHcl("par-${count.index}", g, "  port_forward {\n    guest_port = 80\n  }\n", "par")
        .replace(
          'resource "infrasim_vm" "par" {',
          'resource "infrasim_vm" "par" {\n  count     = 4',
        ),
    );
    const r = await ws.apply();
    console.log(`  apply of 4 VMs: ${(r.ms / 1000).toFixed(1)} s`);
    const vms = (await d.client.listVms({ label_selector: "" })).vms;
    assert.equal(vms.length, 4);
    assert.ok(vms.every((v) => v.status!.state === "RUNNING"));
    assert.equal(new Set(vms.map((v) => v.status!.port_forwards[0].host_port)).size, 4);
    for (const v of vms) await d.waitSerial(v, READY);
  } finally {
    ws.cleanup();
  }
});

e2eTest("terraform: data sources read the daemon and a VM by name", async (d) => {
  const ws = new Workspace(d);
  try {
    ws.write(
      vmHcl(
        "lookup",
        g,
        `  labels    = { role = "db" }\n  port_forward {\n    guest_port = 80\n  }\n`,
        "src",
      ) +
        `data "infrasim_daemon" "this" {}\n` +
        `data "infrasim_vm" "by_name" {\n  name = infrasim_vm.src.name\n}\n` +
        `output "version" { value = data.infrasim_daemon.this.version }\n` +
        `output "accel" { value = data.infrasim_daemon.this.accelerators["x86_64"] }\n` +
        `output "qemu" { value = data.infrasim_daemon.this.qemu_versions["x86_64"] }\n` +
        `output "vm_id" { value = data.infrasim_vm.by_name.id }\n` +
        `output "vm_state" { value = data.infrasim_vm.by_name.state }\n` +
        `output "vm_role" { value = data.infrasim_vm.by_name.labels["role"] }\n` +
        `output "vm_port" { value = data.infrasim_vm.by_name.port_forwards[0].host_port }\n`,
    );
    await ws.apply();
    const st = await d.client.getDaemonStatus({});
    const vm = await d.client.getVm("lookup");
    assert.equal(await ws.output("version"), st.version);
    assert.equal(await ws.output("accel"), "tcg");
    assert.match(await ws.output("qemu"), /^\d+\.\d+/);
    assert.equal(await ws.output("vm_id"), vm.meta!.id);
    assert.equal(await ws.output("vm_state"), "RUNNING");
    assert.equal(await ws.output("vm_role"), "db");
    assert.equal(Number(await ws.output("vm_port")), vm.status!.port_forwards[0].host_port);
    assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);
  } finally {
    ws.cleanup();
  }
});

e2eTest(
  "terraform: running = false creates a VM that is never started; the plan stays empty",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(
        vmHcl("cold", g, "  running   = false\n", "cold") +
          `output "state" { value = infrasim_vm.cold.state }\n`,
      );
      await ws.apply();
      assert.equal(await ws.output("state"), "PENDING");
      const vm = await d.client.getVm("cold");
      assert.equal(vm.status!.state, "PENDING");
      assert.deepEqual(qemuPids(vm.meta!.id), []);
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);
    } finally {
      ws.cleanup();
    }
  },
);
