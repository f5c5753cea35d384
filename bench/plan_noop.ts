// bench/plan_noop: a no-op `terraform plan` over 50 existing VMs (goal <= 2 s), against
// the same plan with -refresh=false (Terraform without any provider reads), same run.
import { guest, TestDaemon } from "../tests/helpers/env.ts";
import { vmHcl, Workspace } from "../tests/helpers/terraform.ts";
import { median, secs } from "./lib.ts";

const N = 50;
const d = await TestDaemon.start();
const ws = new Workspace(d);
try {
  // Stopped VMs: the plan reads all 50 from the daemon either way, without 50 TCG guests.
  ws.write(
    vmHcl("plan-${count.index}", guest("x86_64"), "  running   = false\n", "p")
      .replace('resource "infrasim_vm" "p" {', `resource "infrasim_vm" "p" {\n  count     = ${N}`),
  );
  await ws.apply();
  const plan: number[] = [];
  const noRefresh: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await ws.run("plan", "-detailed-exitcode");
    if (r.code !== 0) throw new Error(`plan is not empty: ${r.stdout}`);
    plan.push(r.ms);
    noRefresh.push((await ws.run("plan", "-refresh=false")).ms);
  }
  console.log(
    `no-op plan over ${N} VMs: median ${secs(median(plan))} s (goal <= 2 s); ` +
      `-refresh=false ${secs(median(noRefresh))} s; ratio ${
        (median(plan) / median(noRefresh)).toFixed(2)
      }`,
  );
  await ws.run("destroy", "-auto-approve");
} finally {
  ws.cleanup();
  await d.cleanup();
}
