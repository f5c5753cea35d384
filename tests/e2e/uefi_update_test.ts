// UEFI disk boot through edk2, and in-place updates of a VM.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { E2E, e2eTest, guest, guestSpec, READY, TestDaemon } from "../helpers/env.ts";

for (const arch of ["x86_64", "aarch64"] as const) {
  Deno.test({
    name: `${arch}: UEFI firmware boots a qcow2 disk to the ready marker`,
    ...E2E,
    fn: async () => {
      const d = await TestDaemon.start();
      const tmp = mkdtempSync("/tmp/isd-disk-");
      try {
        const disk = join(tmp, "boot.qcow2");
        copyFileSync(guest(arch).disk, disk);
        const t0 = performance.now();
        const vm = await d.client.createVm({
          meta: { name: `uefi-${arch.replace("_", "-")}` },
          spec: {
            arch,
            cpu_cores: 1,
            memory_mb: 512,
            boot: { disk: { path: disk } },
            power_state: "POWER_ON",
          },
        });
        assert.equal(vm.status!.state, "RUNNING", vm.status!.message);
        await d.waitSerial(vm, READY, 240_000);
        console.log(`  ${arch} UEFI: ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        await d.cleanup();
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  });
}

e2eTest(
  "update: labels change in place; memory restarts the running VM with the new size",
  async (d) => {
    const spec = guestSpec(guest("x86_64"));
    let vm = await d.client.createVm({ meta: { name: "grow", labels: { a: "1" } }, spec });
    await d.waitSerial(vm, READY);
    const pid = vm.status!.pid;
    const gen = vm.meta!.generation;

    vm = await d.client.updateVm({ ref: "grow", meta: { labels: { a: "2" } }, spec: vm.spec });
    assert.deepEqual(vm.meta!.labels, { a: "2" });
    assert.equal(vm.status!.pid, pid, "a label change does not restart");
    assert.equal(vm.meta!.generation, gen + 1);

    vm = await d.client.updateVm({
      ref: "grow",
      meta: vm.meta,
      spec: { ...vm.spec, memory_mb: 384 },
      expected_generation: vm.meta!.generation,
    });
    assert.equal(vm.spec!.memory_mb, 384);
    assert.equal(vm.status!.state, "RUNNING");
    assert.notEqual(vm.status!.pid, pid, "QEMU was restarted for the new memory size");
    const cmdline = (await Deno.readTextFile(`/proc/${vm.status!.pid}/cmdline`)).split("\0");
    assert.equal(cmdline[cmdline.indexOf("-m") + 1], "384");

    await assert.rejects(
      d.client.updateVm({ ref: "grow", meta: vm.meta, spec: vm.spec, expected_generation: 1 }),
      /expected_generation: VM is at generation/,
    );
    await assert.rejects(
      d.client.updateVm({ ref: "grow", meta: vm.meta, spec: { ...vm.spec, arch: "aarch64" } }),
      /spec\.arch: cannot be changed/,
    );
    vm = await d.client.updateVm({
      ref: "grow",
      meta: vm.meta,
      spec: { ...vm.spec, power_state: "POWER_OFF" },
    });
    assert.equal(vm.status!.state, "STOPPED");
  },
);
