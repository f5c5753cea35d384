// Real QEMU guests under TCG, driven through a real infrasimd over gRPC.
import assert from "node:assert/strict";
import {
  E2E,
  e2eTest,
  guest,
  guestSpec,
  httpGet,
  qemuPids,
  READY,
  sleep,
  TestDaemon,
} from "../helpers/env.ts";

for (const arch of ["x86_64", "aarch64"] as const) {
  Deno.test({
    name:
      `${arch}: boots to the ready marker, serves TCP through its forwarded port, stops, starts, restarts`,
    ...E2E,
    fn: async () => {
      const d = await TestDaemon.start();
      try {
        const g = guest(arch);
        const t0 = performance.now();
        let vm = await d.client.createVm({
          meta: { name: `boot-${arch.replace("_", "-")}` },
          spec: guestSpec(g),
        });
        assert.equal(vm.status!.state, "RUNNING");
        assert.equal(vm.status!.accelerator, "tcg");
        assert.ok(vm.status!.pid > 0);
        await d.waitSerial(vm, READY);
        console.log(
          `  ${arch}: create+start -> ready in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
        );

        const port = vm.status!.port_forwards[0].host_port;
        assert.ok(port >= 20000 && port <= 29999, `allocated port ${port}`);
        assert.equal(await httpGet(port), "infrasim-guest-ok");

        // Graceful stop: ACPI power button, the guest powers itself off.
        vm = await d.client.stopVm({ ref: vm.meta!.name, timeout_seconds: 60 });
        assert.equal(vm.status!.state, "STOPPED");
        assert.equal(vm.status!.last_exit_reason, "the guest powered off");
        assert.equal(vm.spec!.power_state, "POWER_OFF");
        assert.deepEqual(qemuPids(vm.meta!.id), []);

        // Start again, by id; the serial log starts afresh.
        vm = await d.client.startVm(vm.meta!.id);
        assert.equal(vm.status!.state, "RUNNING");
        await d.waitSerial(vm, READY);
        const firstPid = vm.status!.pid;

        vm = await d.client.restartVm({ ref: vm.meta!.name, timeout_seconds: 60 });
        assert.equal(vm.status!.state, "RUNNING");
        assert.notEqual(vm.status!.pid, firstPid);
        assert.equal(vm.status!.port_forwards[0].host_port, port, "the host port is kept");
        await d.waitSerial(vm, READY);
        assert.equal(await httpGet(port), "infrasim-guest-ok");
        assert.equal(qemuPids(vm.meta!.id).length, 1);
      } finally {
        await d.cleanup();
      }
    },
  });
}

e2eTest("kill -9 of QEMU is recorded as CRASHED within 1 s", async (d) => {
  const vm = await d.client.createVm({
    meta: { name: "victim" },
    spec: guestSpec(guest("x86_64")),
  });
  await d.waitSerial(vm, READY);
  const t0 = performance.now();
  process.kill(vm.status!.pid, "SIGKILL");
  let state = "";
  while (performance.now() - t0 < 1000) {
    state = (await d.client.getVm("victim")).status!.state;
    if (state === "CRASHED") break;
    await sleep(20);
  }
  const ms = performance.now() - t0;
  assert.equal(state, "CRASHED", `state after ${ms.toFixed(0)} ms`);
  console.log(`  exit seen in ${ms.toFixed(0)} ms`);
  const after = await d.client.getVm("victim");
  assert.match(after.status!.last_exit_reason, /unexpectedly/);
  assert.equal(after.status!.pid, 0);
  // The desired state is still "on": that difference is the drift Terraform sees.
  assert.equal(after.spec!.power_state, "POWER_ON");
});

e2eTest(
  "kill -9 of infrasimd: both VMs keep running and are re-adopted, no duplicate QEMU",
  async (d) => {
    const a = await d.client.createVm({
      meta: { name: "keep-a" },
      spec: guestSpec(guest("x86_64")),
    });
    const b = await d.client.createVm({
      meta: { name: "keep-b" },
      spec: guestSpec(guest("aarch64")),
    });
    await d.waitSerial(a, READY);
    await d.waitSerial(b, READY);
    const pids = [a.status!.pid, b.status!.pid];

    await d.kill9();
    await sleep(500);
    for (const vm of [a, b]) assert.deepEqual(qemuPids(vm.meta!.id), [vm.status!.pid]);

    await d.launch();
    const vms = (await d.client.listVms({ label_selector: "" })).vms;
    assert.deepEqual(vms.map((v) => [v.meta!.name, v.status!.state, v.status!.pid]), [
      ["keep-a", "RUNNING", pids[0]],
      ["keep-b", "RUNNING", pids[1]],
    ]);
    assert.match(d.stderr, /vm re-adopted/);
    for (const vm of [a, b]) assert.deepEqual(qemuPids(vm.meta!.id), [vm.status!.pid]);

    // Adopted VMs are fully supervised again: the console and the exit watch work.
    const out: string[] = [];
    const session = d.client.console("keep-b", (c) => out.push(new TextDecoder().decode(c)));
    await sleep(300);
    session.write("echo adopted-$((40+2))\n");
    await sleep(3000);
    session.close();
    assert.match(out.join(""), /adopted-42/);
    const stopped = await d.client.stopVm({ ref: "keep-a", timeout_seconds: 60 });
    assert.equal(stopped.status!.state, "STOPPED");
    assert.equal(stopped.status!.last_exit_reason, "the guest powered off");
  },
);

e2eTest("serial console round trip through the API, and the log stream", async (d) => {
  const vm = await d.client.createVm({
    meta: { name: "console" },
    spec: guestSpec(guest("aarch64")),
  });
  await d.waitSerial(vm, READY);
  let out = "";
  const session = d.client.console("console", (c) => (out += new TextDecoder().decode(c)));
  await sleep(200);
  session.write("echo $((6*7))-$((100+23))\n");
  const t0 = Date.now();
  while (!out.includes("42-123") && Date.now() - t0 < 15_000) await sleep(50);
  session.close();
  assert.match(out, /42-123/);

  let log = "";
  const s = d.client.serialLog("console", false, (c) => (log += new TextDecoder().decode(c)));
  await s.done;
  assert.match(log, /INFRASIM-READY/);
  assert.match(log, /42-123/);
});
