// infrasim_volume with the real terraform on the small test guest: a blank data volume
// attached to a VM, the data source, in-place growth under the running VM, a plan-time
// error for shrinking, import into an empty plan, drift, and destroy.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { e2eTest, guest } from "../helpers/env.ts";
import { assertImportPlansEmpty, vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");
const GIB = 1024 ** 3;

const volume = (size: number) =>
  `resource "infrasim_volume" "data" {\n  name    = "data"\n  size_gb = ${size}\n  labels  = { tier = "db" }\n}\n`;
const config = (size: number) =>
  volume(size) +
  vmHcl("db", g, "  volume {\n    volume_id = infrasim_volume.data.id\n  }\n") +
  `data "infrasim_volume" "data" {\n  name       = infrasim_volume.data.name\n  depends_on = [infrasim_vm.db]\n}\n` +
  `output "attached_to" { value = data.infrasim_volume.data.attached_to }\n` +
  `output "vm_id" { value = infrasim_vm.db.id }\n`;

e2eTest(
  "terraform: infrasim_volume attached, read, grown in place, imported, destroyed",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(config(1));
      await ws.apply();
      assert.equal(await ws.output("attached_to"), await ws.output("vm_id"));
      const vol = await d.client.getVolume("data");
      assert.equal(vol.status!.size_bytes, 1 * GIB);
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0, "no drift");

      ws.write(config(2));
      const plan = await ws.run("plan", "-detailed-exitcode");
      assert.equal(plan.code, 2);
      assert.match(plan.stdout, /infrasim_volume\.data will be updated in-place/);
      assert.match(plan.stdout, /size_gb\s+= 1 -> 2/);
      assert.doesNotMatch(plan.stdout, /infrasim_vm\.db will be/, "the VM is left alone");
      const pid = (await d.client.getVm("db")).status!.pid;
      await ws.apply();
      assert.equal((await d.client.getVolume("data")).status!.size_bytes, 2 * GIB);
      assert.equal((await d.client.getVm("db")).status!.pid, pid);

      ws.write(config(1));
      const shrink = await ws.run("plan");
      assert.equal(shrink.code, 1);
      assert.match(shrink.stderr, /Error: Volumes cannot shrink/);
      assert.match(shrink.stderr, /size_gb = 1/, "points at the attribute");
      ws.write(config(2));

      // Grown outside Terraform: drift shows, and a smaller configured size is refused.
      await d.client.updateVolume({ ref: "data", spec: { size_gb: 3 } });
      const drift = await ws.run("plan");
      assert.equal(drift.code, 1);
      assert.match(drift.stderr, /size_gb 2 is smaller than the volume's 3 GiB/);
      ws.write(config(3));
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);

      await assertImportPlansEmpty(d, volume(3), [["infrasim_volume.data", "data"]]);

      await ws.destroy();
      assert.deepEqual((await d.client.listVolumes({ label_selector: "" })).volumes, []);
      assert.deepEqual(readdirSync(join(d.dataDir, "volumes")), []);
    } finally {
      ws.cleanup();
    }
  },
);
