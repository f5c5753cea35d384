// The CLI as a newcomer meets it, with a real guest: relative paths, deleting a running
// VM, consoles and logs of VMs that are missing, stopped or never ran, and guest
// terminal queries kept out of `vm logs`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import {
  e2eTest,
  guest,
  INFRASIM,
  processAlive,
  qemuPids,
  READY,
  type TestDaemon,
  waitFor,
} from "../helpers/env.ts";

const hasQuery = (s: string) => s.includes("\x1b[6n") || s.includes("\x1b[c");

/** Runs the CLI against d in another working directory. */
function cliIn(d: TestDaemon, cwd: string, args: string[]) {
  const r = spawnSync(INFRASIM, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

e2eTest(
  "cli: relative --kernel/--initrd/--disk boot; a running VM is deleted only with --force",
  async (d) => {
    const g = guest("x86_64");
    const dir = dirname(g.kernel);
    const c = cliIn(d, dir, [
      "vm",
      "create",
      "--name",
      "rel",
      "--memory",
      "256",
      "--kernel",
      "kernel",
      "--initrd",
      "./initrd.img",
      "--cmdline",
      g.cmdline,
      "--disk",
      "disk.qcow2:ro",
      "--start",
      "-o",
      "json",
    ]);
    assert.equal(c.code, 0, c.stderr);
    const vm = JSON.parse(c.stdout);
    // The daemon got absolute paths, taken from the CLI's working directory.
    const real = (p: string) => Deno.realPathSync(p);
    assert.equal(vm.spec.boot.kernel.kernel_path, real(g.kernel));
    assert.equal(vm.spec.boot.kernel.initrd_path, real(g.initrd));
    assert.deepEqual(vm.spec.disks, [{ path: real(g.disk), format: "", read_only: true }]);
    await d.waitSerial(vm, READY);

    // A terminal query from the guest is in the raw log but not in `vm logs`.
    const con = d.cli(["vm", "console", "rel"], "printf 'q-\\033[6n-\\033[c-end\\n'\n");
    assert.equal(con.code, 0, con.stderr);
    await waitFor("the query in the serial log", () => d.serialLog(vm).includes("q-\x1b[6n"));
    assert.ok(!hasQuery(con.stdout), "piped console output is filtered");
    const logs = d.cli(["vm", "logs", "rel"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /q---end/);
    assert.ok(!hasQuery(logs.stdout));
    assert.ok(logs.stdout.includes(READY));

    // Without --force: refused, saying how; the VM and its QEMU stay.
    const pid = vm.status.pid as number;
    const refused = d.cli(["vm", "delete", "rel"]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.equal(
      refused.stderr,
      'error: FAILED_PRECONDITION: vm "rel" is running; stop it first (infrasim vm stop rel) ' +
        "or delete it with --force\n",
    );
    assert.equal(
      JSON.parse(d.cli(["vm", "get", "rel", "-o", "json"]).stdout).status.state,
      "RUNNING",
    );
    assert.ok(processAlive(pid));

    const forced = d.cli(["vm", "delete", "--force", "rel"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout.trim(), `deleted rel (${vm.meta.id})`);
    assert.equal(d.cli(["vm", "list", "-o", "json"]).stdout.trim(), "[]");
    await waitFor("QEMU to be gone", () => !processAlive(pid) && qemuPids(vm.meta.id).length === 0);
  },
);

e2eTest("cli: console and logs of a missing, a stopped and a never-run VM", (d) => {
  const missing = d.cli(["vm", "console", "nope"], "echo hi\n");
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, "");
  assert.equal(missing.stderr, 'error: NOT_FOUND: vm "nope" not found\n');

  assert.equal(d.cli(["vm", "create", "--name", "idle"]).code, 0);
  const stopped = d.cli(["vm", "console", "idle"], "echo hi\n");
  assert.equal(stopped.code, 1);
  assert.equal(stopped.stdout, "");
  // Only the error: no "Connected"/"Detached" around it.
  assert.equal(
    stopped.stderr,
    'error: FAILED_PRECONDITION: vm "idle" is not running; start it with: infrasim vm start idle\n',
  );

  const logs = d.cli(["vm", "logs", "idle"]);
  assert.equal(logs.code, 0);
  assert.equal(logs.stdout, "");
  assert.equal(
    logs.stderr,
    'vm "idle" has never run, so it has no log yet; start it with: infrasim vm start idle\n',
  );
  const noLogs = d.cli(["vm", "logs", "nope"]);
  assert.equal(noLogs.code, 1);
  assert.match(noLogs.stderr, /NOT_FOUND: vm "nope" not found/);
  assert.ok(d.running);
});
