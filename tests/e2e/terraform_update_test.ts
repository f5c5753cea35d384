// In-place updates that must not restart a running VM: labels, and wait_for, on a VM
// whose forwarded port was allocated by the daemon (the plan carries the allocated
// port; the daemon must still see the same hardware).
import assert from "node:assert/strict";
import { e2eTest, guest, qemuPids } from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";

const g = guest("x86_64");
const hcl = (extra: string) =>
  vmHcl("upd", g, `  port_forward {\n    guest_port = 80\n  }\n${extra}`);

e2eTest(
  "terraform: labels and wait_for update a running VM in place, without a restart",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(hcl(""));
      await ws.apply();
      const before = await d.client.getVm("upd");
      const pid = before.status!.pid;
      ws.write(hcl('  labels = { env = "test" }\n'));
      await ws.apply();
      ws.write(
        hcl('  labels = { env = "test" }\n  wait_for {\n    serial = "INFRASIM-READY"\n  }\n'),
      );
      await ws.apply();
      const after = await d.client.getVm("upd");
      assert.equal(after.status!.pid, pid, `restarted: ${after.status!.last_exit_reason}`);
      assert.deepEqual(qemuPids(after.meta!.id), [pid]);
      assert.equal(
        after.status!.port_forwards[0].host_port,
        before.status!.port_forwards[0].host_port,
      );
      assert.equal((await ws.run("plan", "-detailed-exitcode")).code, 0);
    } finally {
      ws.cleanup();
    }
  },
);
