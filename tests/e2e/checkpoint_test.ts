// Checkpoints of real VMs on a private network: three guests paused, snapshotted and
// resumed together; after a restore all three are back at the same moment (their RAM
// markers agree), pings between them resume, and the network's impairment is what it was.
import assert from "node:assert/strict";
import { e2eTest, waitFor } from "../helpers/env.ts";
import { guestSh, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

e2eTest("checkpoint: three VMs roll back together, pings resume, QoS as it was", async (d) => {
  await d.client.createNetwork({
    meta: { name: "lan" },
    spec: { cidr: "10.5.0.0/24", link_qos: { latency_ms: 100 } },
  });
  const vms = await bootAll(
    d,
    ["a", "b", "c"].map((n) => {
      const r = netVm(n, [{ network: "lan" }]);
      return { ...r, meta: { name: n, labels: { lab: "cp" } } };
    }),
  );
  const ipB = (await d.client.getVm("b")).status!.links[0].ip;
  const mark = (m: string) =>
    Promise.all(vms.map((v) => guestSh(d.client, v, `echo ${m} > /tmp/m`)));
  await mark("one");
  assert.equal(parsePing((await guestSh(d.client, "a", `ping -c 2 -W 3 ${ipB}`)).out).received, 2);

  // Bad input first.
  await assert.rejects(
    d.client.createCheckpoint({ meta: { name: "none" }, spec: { label_selector: "lab=nope" } }),
    (e: unknown) => {
      assert.ok(e instanceof ApiError && e.code === Status.FAILED_PRECONDITION, String(e));
      assert.equal(e.violations[0].field, "spec.label_selector");
      assert.match(e.message, /selects no VM/);
      return true;
    },
  );

  const none = d.cli(["checkpoint", "create", "none", "-l", "lab=nope"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /--selector: selects no VM \("lab=nope"\)/);

  // The link queues are held while the VMs are paused: a ping in flight waits with them,
  // so no round trip across the checkpoint is shorter than the links' 2 × 100 ms (without
  // the hold, a request would reach the paused b and be answered at once on resume).
  const across = guestSh(d.client, "a", `ping -c 50 -i 0.05 -W 5 ${ipB}`, 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const cp0 = await d.client.createCheckpoint({
    meta: { name: "cp0" },
    spec: { label_selector: "lab=cp" },
  });
  const pinged = parsePing((await across).out);
  assert.match(cp0.status!.message, /the link queues of 1 network\(s\) were held/);
  assert.ok(pinged.received >= 48, `pings across the checkpoint: ${pinged.received}/50`);
  assert.ok(Math.min(...pinged.rtts) >= 199, `shortest RTT ${Math.min(...pinged.rtts)} ms`);
  assert.equal(d.cli(["checkpoint", "delete", "cp0"]).code, 0);

  const made = d.cli(["checkpoint", "create", "cp1", "-l", "lab=cp"]);
  assert.equal(made.code, 0, made.stderr);
  const cp = await d.client.getCheckpoint("cp1");
  assert.equal(cp.status!.state, "CHECKPOINT_READY");
  assert.deepEqual(cp.status!.vms.map((v) => [v.vm_name, v.running]).sort(), [
    ["a", true],
    ["b", true],
    ["c", true],
  ]);
  assert.ok(cp.status!.pause_ms > 0);
  assert.equal(cp.status!.networks[0].link_qos?.latency_ms, 100);
  console.log(
    `checkpoint of 3 VMs: paused ${cp.status!.pause_ms} ms, ${cp.status!.total_ms} ms in all`,
  );

  // Its snapshots go with it only.
  const snap = cp.status!.vms[0].snapshot_name;
  await assert.rejects(d.client.deleteSnapshot({ ref: snap }), /belongs to a checkpoint \("cp1"\)/);
  await assert.rejects(
    d.client.deleteVm({ ref: "a", force: true, with_snapshots: true }),
    /belongs to a checkpoint/,
  );

  // Change everything, then roll back.
  await mark("two");
  const lan = await d.client.getNetwork("lan");
  await d.client.updateNetwork({
    ref: "lan",
    spec: { ...lan.spec!, link_qos: { latency_ms: 300 } },
  });
  // A capture of b's link is ended by the restore, clearly: what follows it belongs to
  // another course of events.
  let captured = 0;
  const capture = d.client.captureNetwork({ ref: "lan", vm: "b" }, (chunk) => {
    captured += chunk.length;
    return true;
  });
  const captureEnd = capture.done.then(() => "ended without an error", (e: unknown) => e);
  await waitFor("the capture's header", () => captured > 0, 10_000);
  const r = await d.client.restoreCheckpoint({ ref: "cp1" });
  const ended = await captureEnd;
  assert.ok(ended instanceof ApiError && ended.code === Status.ABORTED, String(ended));
  assert.match(
    ended.message,
    /vm "b" was restored from snapshot "[^"]+": the capture ended there/,
  );
  assert.match((await d.client.getVm("b")).status!.restored_from, /^b-/);
  assert.equal(r.status!.state, "CHECKPOINT_READY");
  assert.match(r.status!.message, /3 VM\(s\) rolled back together/);
  assert.match(r.status!.message, /their clocks were set to the host's time by their guest agents/);
  for (const v of vms) {
    assert.equal((await guestSh(d.client, v, "cat /tmp/m")).out.trim(), "one", v.meta!.name);
  }
  assert.equal((await d.client.getNetwork("lan")).spec!.link_qos?.latency_ms, 100);
  const ping = parsePing((await guestSh(d.client, "a", `ping -c 5 -i 0.3 -W 3 ${ipB}`)).out);
  assert.ok(ping.received >= 4, `pings after the restore: ${ping.received}/5`);
  // 100 ms on each link's way out: a round trip of about 200 ms, not 600.
  assert.ok(ping.max < 450, `RTT ${ping.max} ms`);

  const del = d.cli(["checkpoint", "delete", "cp1"]);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual((await d.client.listSnapshots({})).snapshots, []);
});

e2eTest("checkpoint: a daemon killed mid-create leaves no half-made checkpoint", async (d) => {
  await d.client.createNetwork({ meta: { name: "k" }, spec: { cidr: "10.6.0.0/24" } });
  const vms = await bootAll(d, ["k1", "k2"].map((n) => netVm(n, [{ network: "k" }])));
  const creating = d.client.createCheckpoint({ meta: { name: "kc" }, spec: {} }).catch((e) => e);
  await waitFor(
    "the checkpoint CREATING",
    async () =>
      (await d.client.listCheckpoints({})).checkpoints.some((c) =>
        c.status!.state === "CHECKPOINT_CREATING"
      ),
    20_000,
    2,
  );
  await d.kill9();
  await creating;
  await d.launch();
  const left = await waitFor("no checkpoint or snapshot CREATING", async () => {
    const cps = (await d.client.listCheckpoints({})).checkpoints;
    const snaps = (await d.client.listSnapshots({})).snapshots;
    const busy = [...cps.map((c) => c.status!.state), ...snaps.map((s) => s.status!.state)]
      .some((st) => st.endsWith("_CREATING"));
    return !busy && { cps, snaps };
  }, 30_000);
  // Gone with its snapshots, or (had it ended before the kill) whole.
  if (left.cps.length === 0) assert.deepEqual(left.snaps, []);
  else assert.equal(left.cps[0].status!.vms.length, 2);
  for (const v of vms) {
    assert.equal((await d.client.getVm(v.meta!.id)).status!.state, "RUNNING");
    assert.equal((await guestSh(d.client, v, "echo $((40+2))", 20_000)).out.trim(), "42");
  }
});
