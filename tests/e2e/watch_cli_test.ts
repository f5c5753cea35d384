// The change feed from the CLI: `infrasim events -o json` (one JSON object per line),
// `vm list --watch`, and `vm wait --for running|stopped|ready` returning as soon as the
// VM's stored state says so.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  e2eTest,
  guest,
  guestSpec,
  INFRASIM,
  READY,
  type TestDaemon,
  waitFor,
} from "../helpers/env.ts";

const G = guest("x86_64");

/** The CLI in the background: its stdout lines as they come, and its exit. */
function background(d: TestDaemon, args: string[]) {
  const child = spawn(INFRASIM, args, {
    env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { lines: [] as string[], stderr: "", code: undefined as number | undefined };
  let buf = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    buf += s;
    const parts = buf.split("\n");
    buf = parts.pop()!;
    out.lines.push(...parts);
  });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (out.stderr += s));
  const exited = new Promise<number>((r) => child.on("exit", (c) => r(out.code = c ?? -1)));
  return { out, exited, kill: () => child.kill("SIGINT") };
}

e2eTest("cli: events -o json, one object per line, in order", async (d) => {
  const ev = background(d, ["events", "-o", "json", "--count", "3", "--kind", "network"]);
  await new Promise((r) => setTimeout(r, 500)); // the watch is up before the change
  assert.equal(d.cli(["network", "create", "--name", "lan", "--cidr", "10.70.0.0/24"]).code, 0);
  assert.equal(d.cli(["network", "delete", "lan"]).code, 0);
  assert.equal(await ev.exited, 0, ev.out.stderr);
  const events = ev.out.lines.map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.type), ["ADDED", "MODIFIED", "DELETED"]);
  assert.ok(events.every((e) => e.kind === "NETWORK" && e.network.meta.name === "lan"));
  assert.deepEqual(events.map((e) => e.network.status.state), ["STARTING", "ACTIVE", "ACTIVE"]);
  const rvs = events.map((e) => Number(e.resource_version));
  assert.ok(rvs.every((v, i) => i === 0 || v > rvs[i - 1]), rvs.join(","));
  assert.ok(!ev.out.lines.some((l) => l.includes('"_')), "no decoder markers");
});

e2eTest("cli: events rides out a daemon restart, resuming where it was", async (d) => {
  const ev = background(d, ["events", "-o", "json", "--count", "4", "--kind", "networks"]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(d.cli(["network", "create", "--name", "a", "--cidr", "10.71.0.0/24"]).code, 0);
  await waitFor("a's events", () => ev.out.lines.length >= 2);
  await d.stop();
  await d.launch();
  assert.equal(d.cli(["network", "create", "--name", "b", "--cidr", "10.72.0.0/24"]).code, 0);
  assert.equal(await ev.exited, 0, ev.out.stderr);
  const events = ev.out.lines.map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => `${e.type} ${e.network.meta.name}`), [
    "ADDED a",
    "MODIFIED a",
    "ADDED b",
    "MODIFIED b",
  ]);
});

e2eTest("cli: vm list --watch prints the list, then a row per change", async (d) => {
  assert.equal(d.cli(["vm", "create", "--name", "a", "--memory", "256"]).code, 0);
  const w = background(d, ["vm", "list", "--watch"]);
  await waitFor("the list", () => w.out.lines.some((l) => l.startsWith("a ")));
  assert.match(w.out.lines[0], /^NAME\s+STATE\s+ARCH/);
  assert.equal(d.cli(["vm", "create", "--name", "b", "--memory", "256"]).code, 0);
  await waitFor("b's row", () => w.out.lines.some((l) => /^b\s+PENDING/.test(l)));
  assert.equal(d.cli(["vm", "delete", "b"]).code, 0);
  await waitFor("b deleted", () => w.out.lines.some((l) => /^b\s.*\(deleted\)$/.test(l)));
  const j = background(d, ["vm", "list", "--watch", "-o", "json"]);
  await waitFor("a as JSON", () => j.out.lines.length >= 1);
  assert.equal(d.cli(["vm", "delete", "a"]).code, 0);
  await waitFor("a deleted", () => j.out.lines.some((l) => JSON.parse(l).type === "DELETED"));
  assert.deepEqual(j.out.lines.map((l) => JSON.parse(l)).map((e) => [e.type, e.object.meta.name]), [
    ["ADDED", "a"],
    ["DELETED", "a"],
  ]);
  j.kill();
  await j.exited;
  w.kill();
  // Ctrl-C ends it quietly (exit 0; Deno's child_process reports the signal it sent).
  await w.exited;
  assert.equal(w.out.stderr, "");
});

e2eTest(
  "cli: vm wait --for running, ready and stopped return when the VM gets there",
  async (d) => {
    const vm = await d.client.createVm({
      meta: { name: "w" },
      spec: guestSpec(G, { power_state: "POWER_OFF", wait_for: { guest_port: 0, serial: READY } }),
    });
    const running = background(d, ["vm", "wait", "w", "--for", "running", "-o", "json"]);
    const ready = background(d, ["vm", "wait", "w", "--timeout", "120", "-o", "json"]);
    await new Promise((r) => setTimeout(r, 500));
    // Not running: waiting for ready is refused at once, running waits.
    assert.equal(await ready.exited, 1);
    assert.match(ready.out.stderr, /FAILED_PRECONDITION: vm "w" is not running \(pending\)/);
    assert.equal(running.out.code, undefined, "still waiting");
    await d.client.startVm("w");
    assert.equal(await running.exited, 0, running.out.stderr);
    assert.equal(JSON.parse(running.out.lines.join("\n")).status.state, "RUNNING");

    const r = d.cli(["vm", "wait", "w", "--timeout", "120", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status.ready, true);
    assert.ok(d.serialLog(vm).includes(READY), "ready only after the marker");

    const stopped = background(d, ["vm", "wait", "w", "--for", "stopped"]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(stopped.out.code, undefined, "still waiting");
    await d.client.stopVm({ ref: "w", force: true });
    assert.equal(await stopped.exited, 0, stopped.out.stderr);
    assert.equal((await d.client.getVm("w")).status!.ready, false, "not ready once stopped");

    const late = d.cli(["vm", "wait", "w", "--for", "running", "--timeout", "1"]);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /DEADLINE_EXCEEDED: vm "w" was not running within 1 s/);
    const bad = d.cli(["vm", "wait", "w", "--for", "running", "--port", "80"]);
    assert.equal(bad.code, 2);
  },
);
