// The aarch64 Debian cloud image (emulated here: virt, cortex-a72, AAVMF): a volume over
// it boots through UEFI with the cloud-init seed, and `vm ssh` reaches it with the
// pinned host key.
import assert from "node:assert/strict";
import { debianImage, e2eTest } from "../helpers/env.ts";

const IMAGE = debianImage("aarch64");

e2eTest("debian (aarch64): a volume of the arm64 image boots to SSH under emulation", async (d) => {
  await d.client.importImage({ meta: { name: "debian-arm64" }, spec: { source: IMAGE } }).done;
  await d.client.createVolume({
    meta: { name: "arm-root" },
    spec: { image: "debian-arm64", size_gb: 3 },
  });
  const vm = await d.client.createVm({
    meta: { name: "arm" },
    spec: {
      arch: "aarch64",
      cpu_cores: 2,
      memory_mb: 1024,
      boot: { volume: { volume: "arm-root" } },
      network: { mode: "user", port_forwards: [{ guest_port: 22 }] },
      cloud_init: {},
      wait_for: { guest_port: 22 },
      power_state: "POWER_ON",
    },
  });
  assert.equal(vm.status!.state, "RUNNING", vm.status!.message);
  const t0 = Date.now();
  await d.client.waitVm({ ref: "arm", timeout_seconds: 480 }, { timeoutSeconds: 500 });
  console.log(
    `debian aarch64: sshd answered ${((Date.now() - t0) / 1000).toFixed(1)} s after create`,
  );
  const r = d.cli(["vm", "ssh", "arm", "--", "uname -m; hostname"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["aarch64", "arm"]);
});
