// Snapshots of real VMs: with memory, a running guest goes back to the snapshot's moment
// (a RAM-only marker, a disk marker and its uptime all say so, with no reboot); a stopped
// VM's disks roll back; bad input names its field; a VM or volume that holds snapshots is
// not deleted by mistake.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  e2eTest,
  guest,
  guestSpec,
  httpGet,
  sleep,
  type TestDaemon,
  waitFor,
} from "../helpers/env.ts";
import { guestSh } from "../helpers/guest_shell.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

const G = guest("x86_64");

async function rejects(p: Promise<unknown>, code: Status, field: string, text: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(e.violations.some((v) => v.field === field), `${field}: ${e.message}`);
    assert.match(e.message, text);
    return true;
  });
}

/** The first bytes of a qcow2 file's guest data, read by qemu-io beside a running QEMU. */
function hostRead(path: string, n: number): string {
  const out = execFileSync("qemu-io", ["-U", "-r", "-f", "qcow2", "-c", "read -v 0 16", path], {
    encoding: "utf8",
  });
  // "00000000:  64 69 73 6b ...  disk-A.........."
  return out.split("\n").filter((l) => /^[0-9a-f]{8}:/.test(l)).map((l) => l.slice(-16)).join("")
    .slice(0, n);
}

const uptime = async (d: TestDaemon, vm: string) =>
  Number((await guestSh(d.client, vm, "cut -d' ' -f1 /proc/uptime")).out.trim());

/** A direct-boot guest with a blank 1 GiB data volume (its /dev/vda). */
async function vmWithVolume(d: TestDaemon, name: string) {
  await d.client.createVolume({ meta: { name: `${name}-data` }, spec: { size_gb: 1 } });
  const vm = await d.client.createVm({
    meta: { name },
    spec: guestSpec(G, { volumes: [{ volume: `${name}-data`, read_only: false }] }),
  });
  assert.equal(vm.status!.state, "RUNNING", vm.status!.message);
  await d.waitSerial(vm, "INFRASIM-READY");
  return vm;
}

e2eTest("snapshot: with memory, a running guest goes back to that moment", async (d) => {
  await vmWithVolume(d, "a");
  const disk = (await d.client.getVolume("a-data")).status!.path;
  const mark = (m: string) =>
    guestSh(d.client, "a", `echo ram-${m} > /tmp/m; printf disk${m} | dd of=/dev/vda conv=fsync`);
  await mark("A");
  // 96 MiB of random bytes in the guest's RAM make the save long enough to watch: its
  // progress reaches the Watch stream and the CLI while the call is pending.
  await guestSh(
    d.client,
    "a",
    "dd if=/dev/urandom of=/tmp/fill bs=1M count=96 2>/dev/null",
    90_000,
  );
  const before = await uptime(d, "a");
  const progress: number[] = [];
  let total = 0, synced = false;
  const w = d.client.watch({ kinds: ["SNAPSHOT"] }, (e) => {
    synced ||= e.type === "SYNCED";
    const p = e.snapshot?.status;
    if (p?.state !== "SNAPSHOT_CREATING" || !p.progress_bytes) return;
    progress.push(p.progress_bytes);
    total = p.progress_total_bytes;
  });
  w.done.catch(() => {}); // ends with the daemon
  await waitFor("the watch to be listening", () => synced, 5000); // d.cli blocks this loop
  const made = d.cli([
    "snapshot",
    "create",
    "a",
    "--name",
    "s1",
    "--label",
    "lab=x",
    "--description",
    "before B",
  ]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stderr, /^snapshot of a: \d+ MiB of 256 MiB \(\d+%\)$/m);
  const s = await d.client.getSnapshot("s1");
  await waitFor("the save's progress on the Watch stream", () => progress.length > 0, 5000);
  w.cancel();
  assert.equal(total, 256 * 1024 * 1024);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress only grows");
  console.log(
    `save progress seen: ${progress.map((b) => (b / 2 ** 20).toFixed(1)).join(", ")} MiB`,
  );
  const st = s.status!;
  assert.equal(st.state, "SNAPSHOT_READY", st.message);
  assert.equal(st.has_memory, true);
  assert.ok(st.memory_bytes > 1024 * 1024, `memory_bytes ${st.memory_bytes}`);
  assert.ok(st.pause_ms > 0, `pause_ms ${st.pause_ms}`);
  assert.match(st.qemu_version, /^\d+\.\d+\.\d+$/);
  assert.match(st.machine, /q35/);
  assert.deepEqual(st.disks.filter((x) => x.included).map((x) => x.path), [disk]);
  console.log(`saved ${st.memory_bytes} bytes of memory; the guest paused ${st.pause_ms} ms`);

  await mark("B");
  await sleep(3000);
  const later = await uptime(d, "a");
  assert.equal(hostRead(disk, 5), "diskB");

  const r = await d.client.restoreSnapshot({ ref: "s1" });
  assert.equal(r.status!.state, "SNAPSHOT_READY");
  assert.ok(r.status!.last_restored_at);
  assert.match(
    r.status!.message,
    /the guest's clock was set to the host's time by its guest agent/,
  );
  assert.equal((await d.client.getVm("a")).status!.state, "RUNNING");
  assert.equal((await guestSh(d.client, "a", "cat /tmp/m")).out.trim(), "ram-A");
  assert.equal(hostRead(disk, 5), "diskA");
  const after = await uptime(d, "a");
  // No reboot: the guest's uptime runs on. Its clock (the TSC under TCG) reads the host's
  // time after the load rather than the snapshot's moment, so the uptime includes the
  // time since; docs/snapshots.md says so.
  console.log(
    `guest uptime: ${before} s at the snapshot, ${later} s at the restore, ${after} s after`,
  );
  assert.ok(after >= before && after >= later, `uptime ${before} -> ${later} -> ${after}`);

  // The CLI lists it and restores it; a disk-only snapshot of a running VM cannot be
  // restored under it.
  const list = d.cli(["snapshot", "list", "a"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^s1\s+a\s+READY\s+memory \+ 1 disk\s/m);
  const disksOnly = d.cli(["snapshot", "create", "a", "--no-memory", "--name", "s2"]);
  assert.equal(disksOnly.code, 0, disksOnly.stderr);
  assert.match(disksOnly.stdout, /Holds:\s+1 disk\n/);
  await assert.rejects(d.client.restoreSnapshot({ ref: "s2" }), (e: unknown) => {
    assert.ok(e instanceof ApiError && e.code === Status.FAILED_PRECONDITION, String(e));
    assert.match(e.message, /holds disks only.*stop it first/);
    return true;
  });

  // A guest whose agent does not run keeps the clock the load gave it, and the status
  // says so.
  await guestSh(d.client, "a", "killall qemu-ga; sleep 0.2; pidof qemu-ga || echo gone");
  await d.client.createSnapshot({ meta: { name: "s3" }, spec: { vm: "a", include_memory: true } });
  const noAgent = await d.client.restoreSnapshot({ ref: "s3" });
  assert.match(
    noAgent.status!.message,
    /the guest's clock was not set \(no guest agent answered within 3 s\)/,
  );
  await d.client.deleteSnapshot({ ref: "s3" });

  // A VM with snapshots is not deleted by mistake, nor a volume that holds one.
  const del = d.cli(["vm", "delete", "a", "--force"]);
  assert.notEqual(del.code, 0);
  assert.match(del.stderr, /--with-snapshots/);
  assert.match(del.stderr, /"s1", "s2"/);
  await d.client.updateVm({
    ref: "a",
    spec: { ...guestSpec(G), power_state: "POWER_ON" },
  });
  await assert.rejects(d.client.deleteVolume("a-data"), /snapshot "s1"/);
  await d.client.deleteVm({ ref: "a", force: true, with_snapshots: true });
  assert.equal((await d.client.listSnapshots({})).snapshots.length, 0);
  const info = JSON.parse(
    execFileSync("qemu-img", ["info", "-U", "--output=json", disk], { encoding: "utf8" }),
  );
  assert.deepEqual(info.snapshots ?? [], [], "the volume holds no snapshot any more");
  await d.client.deleteVolume("a-data");
});

e2eTest("snapshot: a stopped VM's disks roll back; bad input names its field", async (d) => {
  await vmWithVolume(d, "b");
  const disk = (await d.client.getVolume("b-data")).status!.path;
  await guestSh(d.client, "b", "printf diskA | dd of=/dev/vda conv=fsync");
  await d.client.stopVm({ ref: "b", force: true });
  const s = await d.client.createSnapshot({ meta: {}, spec: { vm: "b", include_memory: true } });
  assert.equal(s.status!.has_memory, false, "a stopped VM has no memory to save");
  assert.match(s.meta!.name, /^b-\d{8}-\d{6}$/);
  execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x42 0 512", disk]);
  assert.equal(hostRead(disk, 5), "BBBBB");
  const r = await d.client.restoreSnapshot({ ref: s.meta!.name });
  assert.match(r.status!.message, /stays stopped/);
  assert.equal(hostRead(disk, 5), "diskA");
  assert.equal((await d.client.getVm("b")).status!.state, "STOPPED");

  // Bad input: each names its field.
  await rejects(
    d.client.createSnapshot({ meta: {}, spec: { vm: "nope", include_memory: true } }),
    Status.NOT_FOUND,
    "spec.vm",
    /vm "nope" not found/,
  );
  await rejects(
    d.client.createSnapshot({ meta: { name: "Bad_Name" }, spec: { vm: "b" } }),
    Status.INVALID_ARGUMENT,
    "meta.name",
    /DNS label/,
  );
  await rejects(
    d.client.createSnapshot({ meta: { name: s.meta!.name }, spec: { vm: "b" } }),
    Status.ALREADY_EXISTS,
    "meta.name",
    /already exists/,
  );
  const tmp = mkdtempSync("/tmp/isnap-");
  const raw = join(tmp, "raw.img");
  writeFileSync(raw, new Uint8Array(1024 * 1024));
  await d.client.createVm({
    meta: { name: "r" },
    spec: guestSpec(G, {
      disks: [{ path: raw, format: "raw", read_only: false }],
      power_state: "POWER_OFF",
    }),
  });
  await rejects(
    d.client.createSnapshot({ meta: {}, spec: { vm: "r", include_memory: true } }),
    Status.FAILED_PRECONDITION,
    "spec.vm",
    /spec\.disks\[0\]\.path .* is raw/,
  );
  rmSync(tmp, { recursive: true });
  // A diskless direct-boot VM: with memory it can be snapshotted, without it cannot.
  await d.client.createVm({ meta: { name: "bare" }, spec: guestSpec(G) });
  await rejects(
    d.client.createSnapshot({ meta: {}, spec: { vm: "bare", include_memory: false } }),
    Status.FAILED_PRECONDITION,
    "spec.include_memory",
    /no writable disk/,
  );
  const bare = await d.client.createSnapshot({
    meta: {},
    spec: { vm: "bare", include_memory: true },
  });
  assert.equal(bare.status!.has_memory, true);
  assert.equal(bare.status!.disks.filter((x) => x.included).length, 0);
  await d.client.restoreSnapshot({ ref: bare.meta!.name });
  assert.equal((await d.client.getVm("bare")).status!.state, "RUNNING");
});

e2eTest("snapshot: a daemon killed mid-save leaves no half-made snapshot", async (d) => {
  await vmWithVolume(d, "k");
  const disk = (await d.client.getVolume("k-data")).status!.path;
  const state = join(d.dataDir, "vms", (await d.client.getVm("k")).meta!.id, "state.qcow2");
  const creating = d.client.createSnapshot({
    meta: { name: "k1" },
    spec: { vm: "k", include_memory: true },
  }).catch((e) => e);
  const listed = async () => (await d.client.listSnapshots({})).snapshots;
  const isCreating = (s: { status?: { state: string } | null }) =>
    s.status!.state === "SNAPSHOT_CREATING";
  await waitFor(
    "the snapshot listed as CREATING",
    async () => (await listed()).some(isCreating),
    20_000,
    2,
  );
  await d.kill9();
  assert.ok((await creating) instanceof Error, "the call was cut off with the daemon");
  await d.launch();
  const left = await waitFor("no snapshot CREATING", async () => {
    const all = await listed();
    return !all.some(isCreating) && all;
  }, 30_000).catch((e) => {
    const lines = d.stderr.split("\n").filter((l) => /snapshot|adopt|error/i.test(l));
    throw new Error(`${e.message}\n${lines.join("\n")}`);
  });
  // Gone from the list and from every file (or, had the save ended before the kill, whole);
  // the VM runs, not paused: its console answers.
  if (left.length > 0) {
    assert.deepEqual(left.map((s) => [s.meta!.name, s.status!.state]), [["k1", "SNAPSHOT_READY"]]);
    await d.client.deleteSnapshot({ ref: "k1" });
  } else assert.match(d.stderr, /removed a snapshot cut short by a daemon restart/);
  // (A kill before the first save leaves no state file at all.)
  for (const f of [disk, state].filter((x) => existsSync(x))) {
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "-U", "--output=json", f], { encoding: "utf8" }),
    );
    assert.deepEqual(info.snapshots ?? [], [], `${f} holds no snapshot`);
  }
  assert.equal((await d.client.getVm("k")).status!.state, "RUNNING");
  assert.equal((await guestSh(d.client, "k", "echo $((40+2))", 20_000)).out.trim(), "42");
  // And a new snapshot works.
  const s = await d.client.createSnapshot({ meta: {}, spec: { vm: "k", include_memory: true } });
  assert.equal(s.status!.state, "SNAPSHOT_READY");
});

e2eTest("snapshot: a stopped VM starts from a snapshot's memory, without booting", async (d) => {
  await vmWithVolume(d, "f");
  await guestSh(d.client, "f", "echo ram-F > /tmp/m");
  const u0 = await uptime(d, "f");
  const m1 = await d.client.createSnapshot({
    meta: { name: "m1" },
    spec: { vm: "f", include_memory: true },
  });
  const takenAt = Date.now();
  d.cli(["snapshot", "create", "f", "--no-memory", "--name", "m1-disks"]);
  await d.client.stopVm({ ref: "f", force: true });

  // Bad input first: each names --from-snapshot / from_snapshot.
  await d.client.createVm({
    meta: { name: "other" },
    spec: guestSpec(G, { power_state: "POWER_OFF" }),
  });
  await rejects(
    d.client.startVm({ ref: "other", from_snapshot: "m1" }),
    Status.INVALID_ARGUMENT,
    "from_snapshot",
    /snapshot "m1" is vm "f"'s, not vm "other"'s/,
  );
  await rejects(
    d.client.startVm({ ref: "f", from_snapshot: "m1-disks" }),
    Status.FAILED_PRECONDITION,
    "from_snapshot",
    /holds disks only/,
  );
  const viaCli = d.cli(["vm", "start", "f", "--from-snapshot", "nope"]);
  assert.equal(viaCli.code, 1);
  assert.match(viaCli.stderr, /--from-snapshot: snapshot "nope" not found/);

  // Long enough after the snapshot that a clock left at its moment would show.
  await sleep(Math.max(0, takenAt + 8000 - Date.now()));
  // The start: while it loads, the snapshot cannot be deleted.
  const t0 = performance.now();
  const started = d.client.startVm({ ref: "f", from_snapshot: "m1" });
  await waitFor(
    "the snapshot in use",
    async () => (await d.client.getSnapshot("m1")).status!.state === "SNAPSHOT_RESTORING",
    20_000,
    2,
  );
  await assert.rejects(d.client.deleteSnapshot({ ref: "m1" }), /in use by a start/);
  const vm = await started;
  assert.equal(vm.status!.state, "RUNNING", vm.status!.message);
  assert.equal(await httpGet(vm.status!.port_forwards[0].host_port), "infrasim-guest-ok");
  const answered = performance.now() - t0;
  // What was only in RAM is there: the guest did not boot.
  assert.equal((await guestSh(d.client, "f", "cat /tmp/m")).out.trim(), "ram-F");
  const u1 = await uptime(d, "f");
  console.log(
    `started from a snapshot: answered ${answered.toFixed(0)} ms after StartVm; ` +
      `guest uptime ${u0} s at the snapshot, ${u1} s now`,
  );
  assert.ok(u1 >= u0, `uptime ${u0} -> ${u1}`);
  const s = await d.client.getSnapshot("m1");
  assert.equal(s.status!.state, "SNAPSHOT_READY");
  assert.match(s.status!.message, /started from this snapshot; the guest's clock was set/);
  // Its agent set the clock: the guest's date is the host's, not the snapshot's moment.
  const guestNow = Number((await guestSh(d.client, "f", "date +%s")).out.trim());
  assert.ok(Math.abs(guestNow - Date.now() / 1000) < 3, `guest ${guestNow}, host ${Date.now()}`);
  assert.equal(s.status!.hardware, m1.status!.hardware);
  await rejects(
    d.client.startVm({ ref: "f", from_snapshot: "m1" }),
    Status.FAILED_PRECONDITION,
    "from_snapshot",
    /is running; restore the snapshot instead/,
  );
});

e2eTest(
  "snapshot: a daemon killed mid-restore leaves the VM running, the snapshot ready",
  async (d) => {
    await vmWithVolume(d, "r");
    await d.client.createSnapshot({
      meta: { name: "r1" },
      spec: { vm: "r", include_memory: true },
    });
    const restoring = d.client.restoreSnapshot({ ref: "r1" }).catch((e) => e);
    await waitFor(
      "the snapshot RESTORING",
      async () => (await d.client.getSnapshot("r1")).status!.state === "SNAPSHOT_RESTORING",
      20_000,
      2,
    );
    await d.kill9();
    await restoring;
    await d.launch();
    const s = await waitFor("the snapshot READY again", async () => {
      const cur = await d.client.getSnapshot("r1");
      return cur.status!.state === "SNAPSHOT_READY" && cur;
    }, 30_000);
    assert.match(s.status!.message, /cut short by a daemon restart/);
    assert.equal((await d.client.getVm("r")).status!.state, "RUNNING");
    assert.equal((await guestSh(d.client, "r", "echo $((40+2))", 20_000)).out.trim(), "42");
    // It still restores.
    const again = await d.client.restoreSnapshot({ ref: "r1" });
    assert.match(again.status!.message, /runs on from this snapshot/);
  },
);
