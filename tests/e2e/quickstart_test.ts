// The README's main job: tasks/quickstart.sh starts infrasimd and brings up the
// examples/terraform/quickstart VM with the real terraform.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { E2E, GUEST_DIR, INFRASIM, qemuPids, ROOT } from "../helpers/env.ts";

Deno.test({
  name: "quickstart: starts infrasimd and boots the Terraform example VM",
  ...E2E,
  fn: () => {
    const dataDir = mkdtempSync("/tmp/isq-");
    // No TCP listener: a developer's own daemon may hold 127.0.0.1:50051.
    const env = { ...process.env, INFRASIM_DATA_DIR: dataDir, INFRASIM_LISTEN: "", NO_COLOR: "1" };
    try {
      const r = spawnSync("bash", ["tasks/quickstart.sh"], {
        cwd: ROOT,
        env,
        encoding: "utf8",
        timeout: 300_000,
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /says: infrasim-guest-ok/);
      const id = r.stdout.match(/vm_id = "([0-9a-f-]+)"/)![1];
      assert.equal(qemuPids(id).length, 1);
      const destroy = spawnSync(
        "terraform",
        ["destroy", "-auto-approve", "-no-color", `-var=guest_dir=${GUEST_DIR}/x86_64`],
        {
          cwd: `${dataDir}/quickstart`,
          env: { ...env, TF_CLI_CONFIG_FILE: `${dataDir}/quickstart/dev.tfrc` },
          encoding: "utf8",
        },
      );
      assert.equal(destroy.status, 0, destroy.stdout + destroy.stderr);
      assert.deepEqual(qemuPids(id), []);
    } finally {
      // Stop exactly the daemon the quickstart started for this data dir.
      const st = spawnSync(INFRASIM, ["status", "-o", "json"], { env, encoding: "utf8" });
      if (st.status === 0) process.kill(JSON.parse(st.stdout).pid, "SIGTERM");
      spawnSync("pkill", ["-9", "-f", `${dataDir}/vms/`]);
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
});
