// bench/terraform_apply: `terraform apply` of 8 VMs until every guest is ready, divided
// by raw QEMU booting the same 8 guests in parallel, in the same run (goal <= 1.2).
import { guest, READY, TestDaemon } from "../tests/helpers/env.ts";
import { vmHcl, Workspace } from "../tests/helpers/terraform.ts";
import { rawQemuBoot, secs, untilMarker } from "./lib.ts";

const N = 8;
const g = guest("x86_64");

const t0 = performance.now();
await Promise.all(Array.from({ length: N }, (_, i) => rawQemuBoot(g, 29900 + i, t0)));
const raw = performance.now() - t0;

const d = await TestDaemon.start();
const ws = new Workspace(d);
try {
  ws.write(
    vmHcl("bench-${count.index}", g, "  port_forward {\n    guest_port = 80\n  }\n", "b")
      .replace('resource "infrasim_vm" "b" {', `resource "infrasim_vm" "b" {\n  count     = ${N}`),
  );
  const t1 = performance.now();
  const r = await ws.run("apply", "-auto-approve");
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  const applied = performance.now() - t1;
  const vms = (await d.client.listVms({ label_selector: "" })).vms;
  await Promise.all(vms.map((v) => untilMarker(v.status!.serial_log_path, t1)));
  const tf = performance.now() - t1;
  console.log(
    `${N} VMs to ${READY}: raw qemu in parallel ${secs(raw)} s; terraform apply ${
      secs(applied)
    } s (returns when all are RUNNING), all ready after ${secs(tf)} s; ratio ${
      (tf / raw).toFixed(2)
    } (goal <= 1.2)`,
  );
  await ws.run("destroy", "-auto-approve");
} finally {
  ws.cleanup();
  await d.cleanup();
}
