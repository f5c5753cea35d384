// An interrupted `terraform apply` leaves nothing Terraform cannot recover.
import assert from "node:assert/strict";
import {
  e2eTest,
  guest,
  qemuPidsIn,
  READY,
  sleep,
  type TestDaemon,
  waitFor,
} from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");
const FOUR = vmHcl("par-${count.index}", g, "  port_forward {\n    guest_port = 80\n  }\n", "par")
  .replace('resource "infrasim_vm" "par" {', 'resource "infrasim_vm" "par" {\n  count     = 4');

/** Every QEMU of the data dir is a RUNNING VM's recorded QEMU. */
async function assertNoStray(d: TestDaemon): Promise<void> {
  const vms = (await d.client.listVms({ label_selector: "" })).vms;
  const tracked = vms.filter((v) => v.status!.state === "RUNNING").map((v) => v.status!.pid);
  assert.deepEqual(qemuPidsIn(d.dataDir), tracked.sort((a, b) => a - b), "stray QEMU");
}

async function converged(d: TestDaemon, ws: Workspace): Promise<void> {
  const vms = (await d.client.listVms({ label_selector: "" })).vms;
  assert.deepEqual(vms.map((v) => v.meta!.name), ["par-0", "par-1", "par-2", "par-3"]);
  for (const v of vms) {
    assert.equal(v.status!.state, "RUNNING", v.meta!.name);
    await d.waitSerial(v, READY);
  }
  await assertNoStray(d);
  const plan = await ws.run("plan", "-detailed-exitcode");
  assert.equal(plan.code, 0, `plan after recovery is not empty:\n${plan.stdout}${plan.stderr}`);
  const destroy = await ws.run("destroy", "-auto-approve");
  assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
  assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms, []);
  assert.deepEqual(qemuPidsIn(d.dataDir), [], "destroy leaves no QEMU");
}

e2eTest(
  "terraform: kill -9 of infrasimd during an apply of 4 VMs; the next apply converges, destroy leaves nothing",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(FOUR);
      const apply = ws.run("apply", "-auto-approve");
      await waitFor("the first QEMU", () => qemuPidsIn(d.dataDir).length > 0, 60_000, 2);
      await d.kill9();
      const first = await apply;
      assert.notEqual(first.code, 0, "the interrupted apply fails");
      await d.launch();
      await assertNoStray(d);
      const again = await ws.run("apply", "-auto-approve");
      assert.equal(again.code, 0, again.stdout + again.stderr);
      await converged(d, ws);
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest(
  "terraform: a double Ctrl-C during an apply; the errors say how to import, and following them converges",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(FOUR);
      // The second interrupt must land while a create is in flight, so that Terraform
      // exits at once and records none of them. Terraform may instead finish stopping
      // first (nothing was in flight yet); then clean up and try again.
      for (let attempt = 1;; attempt++) {
        // Its own process group, signalled as a whole, as a terminal's Ctrl-C is.
        const child = ws.spawn(["apply", "-auto-approve"], { detached: true });
        const exited = new Promise((r) => child.once("close", r));
        let out = "";
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (out += c));
        // A QEMU exists: its StartVm is in flight for a while yet.
        await waitFor("the first QEMU", () => qemuPidsIn(d.dataDir).length > 0, 60_000, 1);
        process.kill(-child.pid!, "SIGINT");
        await sleep(20);
        process.kill(-child.pid!, "SIGINT");
        await exited;
        if (/Two interrupts received/.test(out)) break;
        assert.ok(attempt < 4, `no double interrupt after ${attempt} attempts:\n${out}`);
        console.log(`  attempt ${attempt}: Terraform stopped before the second interrupt`);
        await sleep(2000);
        for (const v of (await d.client.listVms({ label_selector: "" })).vms) {
          await d.client.deleteVm({ ref: v.meta!.id, force: true });
        }
        await ws.run("apply", "-refresh-only", "-auto-approve");
      }
      await sleep(2000); // creates the daemon had accepted finish on their own
      await assertNoStray(d);

      const again = await ws.run("apply", "-auto-approve");
      if (again.code !== 0) {
        // Each VM Terraform lost track of is named with the import to run.
        const out = again.stdout + again.stderr;
        const imports: string[] = [];
        for (const v of (await d.client.listVms({ label_selector: "" })).vms) {
          const i = Number(v.meta!.name.split("-")[1]);
          if (!out.includes(`"${v.meta!.name}" already exists`)) continue;
          assert.match(out, new RegExp(`terraform import[\\s\\S]{0,80}${v.meta!.id}`), out);
          imports.push(`import {\n  to = infrasim_vm.par[${i}]\n  id = "${v.meta!.id}"\n}\n`);
        }
        assert.ok(imports.length > 0, `the apply failed for another reason:\n${out}`);
        ws.write(imports.join("\n"), "imports.tf");
        const fixed = await ws.run("apply", "-auto-approve");
        assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
      }
      await converged(d, ws);
    } finally {
      ws.cleanup();
    }
  },
);
