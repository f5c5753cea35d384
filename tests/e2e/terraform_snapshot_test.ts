// infrasim_snapshot with the real terraform: a snapshot of a running VM with its memory,
// read by the data source; a restore through the CLI leaves the plan empty; a changed
// setting replaces it; import plans empty; destroy removes it before its VM.
import assert from "node:assert/strict";
import { e2eTest, guest, GUEST_DIR } from "../helpers/env.ts";
import { assertImportPlansEmpty, vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");

const snapshot = (description: string, vm = "infrasim_vm.db.id") =>
  `resource "infrasim_snapshot" "before" {\n  name        = "before"\n  vm          = ${vm}\n` +
  `  description = "${description}"\n  labels      = { lab = "t" }\n}\n`;
const config = (description: string) =>
  `resource "infrasim_volume" "data" {\n  name    = "data"\n  size_gb = 1\n}\n` +
  vmHcl("db", g, "  volume {\n    volume_id = infrasim_volume.data.id\n  }\n") +
  snapshot(description) +
  `data "infrasim_snapshot" "before" {\n  name = infrasim_snapshot.before.name\n}\n` +
  `output "has_memory" { value = infrasim_snapshot.before.has_memory }\n` +
  `output "disks" { value = join(",", data.infrasim_snapshot.before.disks) }\n` +
  `output "volume_path" { value = infrasim_volume.data.path }\n`;

e2eTest("terraform: infrasim_snapshot taken, restored outside, replaced, imported", async (d) => {
  // The example first: it applies, and destroys with its snapshot.
  const ex = new Workspace(d);
  try {
    ex.writeExample("examples/terraform/snapshot/main.tf");
    const up = await ex.run("apply", "-auto-approve", "-var", `guest_dir=${GUEST_DIR}`);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.equal(await ex.output("restore"), "infrasim snapshot restore lab-baseline");
    assert.ok(Number(await ex.output("memory_saved_bytes")) > 0);
    const down = await ex.run("destroy", "-auto-approve", "-var", `guest_dir=${GUEST_DIR}`);
    assert.equal(down.code, 0, down.stdout + down.stderr);
  } finally {
    ex.cleanup();
  }

  const ws = new Workspace(d);
  try {
    ws.write(config("first"));
    await ws.apply();
    assert.equal(await ws.output("has_memory"), "true");
    assert.equal(await ws.output("disks"), await ws.output("volume_path"));
    assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0, "no drift");

    // A restore is an action, not a change of desired state: the plan stays empty.
    const r = d.cli(["snapshot", "restore", "before"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /runs on from this snapshot/);
    assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0, "empty after a restore");

    ws.write(config("second"));
    const plan = await ws.run("plan", "-detailed-exitcode");
    assert.equal(plan.code, 2);
    assert.match(plan.stdout, /infrasim_snapshot\.before must be replaced/);
    assert.doesNotMatch(plan.stdout, /infrasim_vm\.db (will|must)/, "the VM is left alone");
    await ws.apply();
    const s = await d.client.getSnapshot("before");
    assert.equal(s.spec!.description, "second");

    const vmId = (await d.client.getVm("db")).meta!.id;
    await assertImportPlansEmpty(d, snapshot("second", `"${vmId}"`), [
      ["infrasim_snapshot.before", "before"],
    ]);

    await ws.destroy();
    assert.deepEqual((await d.client.listSnapshots({})).snapshots, []);
    assert.deepEqual((await d.client.listVms({})).vms, []);
  } finally {
    ws.cleanup();
  }
});
