// Defects found by testing as a hostile user and an unlucky operator, one test each.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  e2eTest,
  guest,
  guestSpec,
  httpGet,
  qemuPids,
  qemuPidsIn,
  READY,
  sleep,
  waitFor,
} from "../helpers/env.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

const g = guest("x86_64");

e2eTest(
  "kill -9 of infrasimd just after it launched QEMU: that QEMU is adopted, never left stray",
  async (d) => {
    const create = d.client.createVm({ meta: { name: "racy" }, spec: guestSpec(g) }).catch((e) =>
      e
    );
    // Kill the daemon the moment its QEMU exists, before it can have recorded it.
    await waitFor("qemu to appear", () => qemuPidsIn(d.dataDir).length > 0, 20_000, 1);
    await d.kill9();
    await create;
    // The -daemonize parent exits once QEMU is up; the QEMU itself outlives the daemon.
    await waitFor("one QEMU", () => qemuPidsIn(d.dataDir).length === 1, 10_000);

    await d.launch();
    let vm = await d.client.getVm("racy");
    assert.equal(vm.status!.state, "RUNNING", `${vm.status!.state}: ${vm.status!.message}`);
    assert.deepEqual(qemuPidsIn(d.dataDir), [vm.status!.pid]);
    await d.waitSerial(vm, READY);
    // start is a no-op for a running VM: still exactly one QEMU.
    vm = await d.client.startVm("racy");
    assert.deepEqual(qemuPidsIn(d.dataDir), [vm.status!.pid]);
    assert.equal(await httpGet(vm.status!.port_forwards[0].host_port), "infrasim-guest-ok");
    await d.client.deleteVm({ ref: "racy", force: true });
    assert.deepEqual(qemuPidsIn(d.dataDir), [], "delete leaves no QEMU");
  },
);

e2eTest(
  "a frozen QEMU (SIGSTOP) is reported as not answering; stop --force, restart and delete return in seconds",
  async (d) => {
    let vm = await d.client.createVm({ meta: { name: "frozen" }, spec: guestSpec(g) });
    await d.waitSerial(vm, READY);
    const freeze = (pid: number) => process.kill(pid, "SIGSTOP");

    freeze(vm.status!.pid);
    await waitFor(
      "the status to say QEMU is not answering",
      async () => {
        const v = await d.client.getVm("frozen", { timeoutSeconds: 3 });
        return /not answering/.test(v.status!.message);
      },
      15_000,
      250,
    );
    let t0 = performance.now();
    vm = await d.client.stopVm({ ref: "frozen", force: true }, { timeoutSeconds: 15 });
    const stopMs = performance.now() - t0;
    assert.ok(stopMs < 4000, `stop --force took ${stopMs.toFixed(0)} ms`);
    assert.equal(vm.status!.state, "STOPPED");
    assert.deepEqual(qemuPids(vm.meta!.id), []);

    vm = await d.client.startVm("frozen");
    await d.waitSerial(vm, READY);
    freeze(vm.status!.pid);
    t0 = performance.now();
    vm = await d.client.restartVm({ ref: "frozen", timeout_seconds: 2 }, { timeoutSeconds: 20 });
    const restartMs = performance.now() - t0;
    assert.ok(restartMs < 9000, `restart took ${restartMs.toFixed(0)} ms`);
    assert.equal(vm.status!.state, "RUNNING");
    assert.deepEqual(qemuPids(vm.meta!.id), [vm.status!.pid]);
    await d.waitSerial(vm, READY);

    freeze(vm.status!.pid);
    t0 = performance.now();
    await d.client.deleteVm({ ref: "frozen", force: true }, { timeoutSeconds: 15 });
    const deleteMs = performance.now() - t0;
    assert.ok(deleteMs < 4000, `delete took ${deleteMs.toFixed(0)} ms`);
    console.log(
      `  frozen QEMU: stop --force ${stopMs.toFixed(0)} ms, restart ${
        restartMs.toFixed(0)
      } ms (grace 2 s), delete ${deleteMs.toFixed(0)} ms`,
    );
    assert.deepEqual(qemuPids(vm.meta!.id), []);
  },
);

e2eTest(
  "disks, kernels and firmware on /proc, /sys or /dev are refused naming the field; the daemon never blocks",
  async (d) => {
    const sysfs = [
      "/sys/kernel/mm/transparent_hugepage/enabled",
      "/sys/kernel/uevent_seqnum",
      "/sys/power/state",
    ].find(existsSync);
    const special = ["/proc/kmsg", "/proc/self/status", "/dev/zero", ...(sysfs ? [sysfs] : [])];
    const base = guestSpec(g);
    for (const path of special) {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ disks: [{ path, read_only: true }] }, /^spec\.disks\[0\]\.path: /],
        [{ boot: { disk: { path } } }, /^spec\.boot\.disk\.path: /],
        [
          { boot: { kernel: { kernel_path: path, initrd_path: g.initrd, cmdline: "" } } },
          /^spec\.boot\.kernel\.kernel_path: /,
        ],
      ];
      for (const [extra, field] of cases) {
        const name = `sp-${Math.random().toString(36).slice(2, 8)}`;
        const health = sleep(300).then(() => d.client.health("", { timeoutSeconds: 2 }));
        await assert.rejects(
          d.client.createVm({ meta: { name }, spec: { ...base, ...extra } }, {
            timeoutSeconds: 10,
          }),
          (e: ApiError) => {
            assert.equal(Status[e.code], "INVALID_ARGUMENT", `${path}: ${e.message}`);
            assert.match(e.message, field, path);
            assert.match(e.message, /not a regular file|special file system/, path);
            return true;
          },
        );
        assert.equal(await health, "SERVING", `the daemon answers while checking ${path}`);
      }
    }
    assert.deepEqual(
      (await d.client.listVms({ label_selector: "" })).vms,
      [],
      "nothing was created",
    );
  },
);

e2eTest(
  "a 70,000-character ref gets a short error, and the other calls on the channel all succeed",
  async (d) => {
    await d.client.createVm({
      meta: { name: "one" },
      spec: guestSpec(g, { power_state: "POWER_OFF" }),
    });
    const long = "x".repeat(70_000);
    const results = await Promise.allSettled([
      d.client.getVm(long),
      d.client.listVms({ label_selector: `${long} in (` }).then((r) => r.vms),
      d.client.createVm({
        meta: { name: "n", labels: { [long]: "v" } },
        spec: guestSpec(g, { power_state: "POWER_OFF" }),
      }),
      d.client.stopVm({ ref: long }),
      ...Array.from({ length: 19 }, () => d.client.getVm("one")),
    ]);
    const failed = results.slice(0, 4);
    for (const r of failed) {
      assert.equal(r.status, "rejected");
      const e = (r as PromiseRejectedResult).reason as ApiError;
      assert.notEqual(Status[e.code], "CANCELLED", e.message.slice(0, 200));
      assert.ok(e.message.length <= 300, `error of ${e.message.length} characters`);
    }
    assert.equal(
      Status[((failed[0] as PromiseRejectedResult).reason as ApiError).code],
      "NOT_FOUND",
    );
    for (const r of results.slice(4)) {
      assert.equal(r.status, "fulfilled", String((r as PromiseRejectedResult).reason));
    }
  },
);

e2eTest(
  "a StopVm while the daemon is still re-adopting waits for the adoption and stops the guest gracefully",
  async (d) => {
    // a-frozen is adopted first (names in order) and its QMP never greets: a long adoption.
    const a = await d.client.createVm({ meta: { name: "a-frozen" }, spec: guestSpec(g) });
    const b = await d.client.createVm({ meta: { name: "b-live" }, spec: guestSpec(g) });
    await d.waitSerial(a, READY);
    await d.waitSerial(b, READY);
    await d.kill9();
    process.kill(a.status!.pid, "SIGSTOP");
    await d.launch({ wait: false });
    await waitFor("the API socket", () => existsSync(d.socket), 10_000, 2);
    const stopped = await waitFor(
      "StopVm to be served",
      async () => {
        try {
          return await d.client.stopVm({ ref: "b-live", timeout_seconds: 60 }, {
            timeoutSeconds: 90,
          });
        } catch (e) {
          if (e instanceof ApiError && e.code === Status.UNAVAILABLE) return undefined;
          throw e;
        }
      },
      20_000,
      5,
    );
    assert.equal(stopped.status!.state, "STOPPED");
    assert.equal(stopped.status!.last_exit_reason, "the guest powered off");
    await d.ready();
    // The frozen one could not be adopted: it was killed, not left running unsupervised.
    assert.deepEqual(qemuPids(a.meta!.id), []);
    const af = await d.client.getVm("a-frozen");
    assert.notEqual(af.status!.state, "RUNNING");
    assert.match(af.status!.last_exit_reason, /could not be re-adopted/);
  },
);

e2eTest(
  "a create or start whose client gives up early still ends with exactly one supervised QEMU",
  async (d) => {
    // The client's deadline passes while the daemon is still launching QEMU.
    await assert.rejects(
      d.client.createVm({ meta: { name: "hasty" }, spec: guestSpec(g) }, { timeoutSeconds: 0.05 }),
      (e: ApiError) => Status[e.code] === "DEADLINE_EXCEEDED",
    );
    const vm = await waitFor(
      "the create to finish",
      async () => {
        const v = await d.client.getVm("hasty").catch(() => undefined);
        return v?.status?.state === "RUNNING" ? v : undefined;
      },
      30_000,
      50,
    );
    assert.deepEqual(qemuPidsIn(d.dataDir), [vm.status!.pid]);
    // A start can finish inside any fixed deadline on a fast, idle machine; retry with
    // shorter ones until the client really gives up first.
    let gaveUp = false;
    for (const seconds of [0.05, 0.02, 0.01, 0.005, 0.002]) {
      await d.client.stopVm({ ref: "hasty", force: true });
      try {
        await d.client.startVm("hasty", { timeoutSeconds: seconds });
      } catch (e) {
        assert.equal(Status[(e as ApiError).code], "DEADLINE_EXCEEDED", String(e));
        gaveUp = true;
        break;
      }
    }
    assert.ok(gaveUp, "every start finished before its client's deadline");
    const again = await waitFor(
      "the start to finish",
      async () => {
        const v = await d.client.getVm("hasty");
        return v.status!.state === "RUNNING" ? v : undefined;
      },
      30_000,
      50,
    );
    assert.deepEqual(qemuPidsIn(d.dataDir), [again.status!.pid]);
    await d.waitSerial(again, READY);
    await d.client.deleteVm({ ref: "hasty", force: true });
    assert.deepEqual(qemuPidsIn(d.dataDir), []);
  },
);
