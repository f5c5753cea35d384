// WaitVm: readiness needs the guest itself to answer (user networking accepts every
// host-side connection, so a connect alone proves nothing); a guest that is never ready
// fails with DEADLINE_EXCEEDED saying what was awaited, and is left running.
import assert from "node:assert/strict";
import { e2eTest, guest, guestSpec, qemuPids } from "../helpers/env.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

const G = guest("x86_64");

e2eTest("wait: a serial pattern and an answering guest port", async (d) => {
  const vm = await d.client.createVm({
    meta: { name: "w" },
    spec: guestSpec(G, { wait_for: { guest_port: 80, serial: "INFRASIM-READY" } }),
  });
  const t0 = Date.now();
  const ready = await d.client.waitVm({ ref: "w", timeout_seconds: 60 }, { timeoutSeconds: 70 });
  assert.equal(ready.status!.state, "RUNNING");
  assert.ok(d.serialLog(vm).includes("INFRASIM-READY"), "returned only after the marker");
  assert.ok(Date.now() - t0 < 60_000);
  // The CLI's vm wait, with a condition of its own.
  const r = d.cli(["vm", "wait", "w", "--serial", "READY$|READY\\s", "--timeout", "30"]);
  assert.equal(r.code, 0, r.stderr);
});

e2eTest(
  "wait: never ready -> DEADLINE_EXCEEDED naming what was awaited; VM left running",
  async (d) => {
    const vm = await d.client.createVm({
      meta: { name: "never" },
      // Guest port 8 is forwarded, but nothing listens on it in the guest.
      spec: guestSpec(G, {
        network: {
          mode: "user",
          port_forwards: [{ guest_port: 8, host_port: 0, protocol: "tcp" }],
        },
        wait_for: { guest_port: 8, serial: "" },
      }),
    });
    await d.waitSerial(vm, "INFRASIM-READY");
    const t0 = Date.now();
    await assert.rejects(
      d.client.waitVm({ ref: "never", timeout_seconds: 3 }, { timeoutSeconds: 20 }),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.code, Status.DEADLINE_EXCEEDED, e.message);
        assert.match(
          e.message,
          /not ready within 3 s: waited for guest port 8 to accept connections/,
        );
        return true;
      },
    );
    const took = Date.now() - t0;
    assert.ok(took >= 3000 && took < 8000, `took ${took} ms`);
    assert.equal((await d.client.getVm("never")).status!.state, "RUNNING");
    assert.equal(qemuPids(vm.meta!.id).length, 1);
    const r = d.cli(["vm", "wait", "never", "--serial", "no such text", "--timeout", "2"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DEADLINE_EXCEEDED: .*"no such text" on the serial console/);
  },
);

e2eTest("wait: bad input names the field; a stopped VM is said to be stopped", async (d) => {
  await d.client.createVm({
    meta: { name: "s" },
    spec: { ...guestSpec(G), power_state: "POWER_OFF" },
  });
  const check = async (req: object, code: Status, text: RegExp) =>
    await assert.rejects(d.client.waitVm({ ref: "s", ...req }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, text);
      return true;
    });
  await check({}, Status.INVALID_ARGUMENT, /^wait_for: vm "s" has no wait_for/);
  await check(
    { wait_for: { guest_port: 22 } },
    Status.INVALID_ARGUMENT,
    /guest port 22 is not forwarded/,
  );
  await check(
    { wait_for: { serial: "(" } },
    Status.INVALID_ARGUMENT,
    /serial: is not a regular expression/,
  );
  await check(
    { wait_for: { serial: "x" } },
    Status.FAILED_PRECONDITION,
    /vm "s" is not running \(pending\)/,
  );
  await assert.rejects(
    d.client.createVm({
      meta: { name: "bad" },
      spec: guestSpec(G, { wait_for: { guest_port: 22, serial: "" } }),
    }),
    /spec\.wait_for\.guest_port: guest port 22 is not forwarded/,
  );
});
