// The compiled `infrasim` CLI against a real daemon.
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { e2eTest, guest, guestCliArgs, INFRASIM, READY } from "../helpers/env.ts";
import { spawnSync } from "node:child_process";

e2eTest("cli: the seed's forms work as written, with complete json and yaml output", (d) => {
  const created = d.cli(["vm", "create", "--name", "test", "--cpu", "2", "--memory", "2048"]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Name:\s+test/);
  const vm = JSON.parse(d.cli(["vm", "get", "test", "-o", "json"]).stdout);
  assert.equal(vm.spec.cpu_cores, 2);
  assert.equal(vm.spec.memory_mb, 2048);
  assert.equal(vm.status.state, "PENDING");
  assert.deepEqual(Object.keys(vm), ["meta", "spec", "status"]);

  // `infrasim vm start <vm-id>`: no boot source, so the VM runs its UEFI firmware.
  const started = d.cli(["vm", "start", vm.meta.id]);
  assert.equal(started.code, 0, started.stderr);
  assert.equal(started.stdout.trim(), "test: RUNNING");
  const y = parseYaml(d.cli(["vm", "get", "test", "-o", "yaml"]).stdout);
  assert.equal(y.status.state, "RUNNING");
  assert.equal(y.meta.id, vm.meta.id);
  const list = JSON.parse(d.cli(["vm", "list", "-o", "json"]).stdout);
  assert.equal(list.length, 1);
  assert.match(d.cli(["vm", "list"]).stdout, /^NAME\s+STATE.*\ntest\s+RUNNING\s+/);

  const stopped = d.cli(["vm", "stop", "--force", "test"]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout.trim(), "test: STOPPED");
  assert.equal(d.cli(["vm", "delete", "test"]).code, 0);
  assert.equal(JSON.parse(d.cli(["vm", "list", "-o", "json"]).stdout).length, 0);

  const st = JSON.parse(d.cli(["status", "-o", "json"]).stdout);
  assert.equal(st.accelerators.x86_64, "tcg");
  assert.ok(st.qemu.some((q: { arch: string }) => q.arch === "x86_64"));
  assert.equal(st.metrics_url, `http://127.0.0.1:${d.httpPort}/metrics`);
  assert.match(d.cli(["status"]).stdout, /^Metrics:\s+http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
});

e2eTest("cli: errors go to stderr naming the field; exit codes 0, 1 and 2", (d) => {
  // Ranges are checked by the CLI before anything is sent: a usage error naming the flag.
  const bad = d.cli(["vm", "create", "--name", "bad", "--memory", "0"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /--memory: must be between 64 and 1048576/);
  // Every bad flag is said at once, each as the flag the user typed.
  const three = d.cli(["vm", "create", "--name", "../etc", "--memory", "10", "--cpu", "0"]);
  assert.equal(three.code, 2);
  assert.deepEqual(
    three.stderr.split("\n").filter((l) => l.startsWith("error: ")).map((l) => l.split(":")[1]),
    [" --name", " --cpu", " --memory"],
  );
  assert.match(three.stderr, /\(run 'infrasim vm create --help' for usage\)/);
  // The daemon's errors name the field as the flag the user typed.
  const badVolume = d.cli(["vm", "create", "--name", "v", "--volume", "nope"]);
  assert.equal(badVolume.code, 1);
  assert.match(badVolume.stderr, /^error: INVALID_ARGUMENT: --volume: volume "nope" not found$/m);
  const missing = d.cli(["vm", "get", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NOT_FOUND: vm "nope" not found/);
  const usage = d.cli(["vm", "list", "--bogus"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown option '--bogus'/);
  assert.equal(d.cli(["vm", "create", "--name", "x", "--cpu", "two"]).code, 2);
  assert.equal(d.cli(["vm", "list", "-o", "xml"]).code, 2);
  assert.equal(d.cli(["vm", "list"]).code, 0);

  const unreachable = spawnSync(INFRASIM, ["vm", "list"], {
    encoding: "utf8",
    env: {
      ...process.env,
      INFRASIM_DATA_DIR: "",
      INFRASIM_DAEMON_ADDRESS: "unix:///tmp/no-such-infrasimd.sock",
    },
  });
  assert.equal(unreachable.status, 1);
  assert.equal(
    unreachable.stderr,
    "error: UNAVAILABLE: cannot reach infrasimd at unix:///tmp/no-such-infrasimd.sock; " +
      "start it with: infrasimd\n",
  );
});

e2eTest("cli: create --kernel --port --start, logs, console, labels, TCP address", async (d) => {
  const g = guest("x86_64");
  const c = d.cli([
    "vm",
    "create",
    "--name",
    "web",
    ...guestCliArgs(g),
    "--port",
    "80",
    "--label",
    "env=dev",
    "--label",
    "tier=web",
    "--start",
    "-o",
    "json",
  ]);
  assert.equal(c.code, 0, c.stderr);
  const vm = JSON.parse(c.stdout);
  assert.equal(vm.status.state, "RUNNING");
  await d.waitSerial(vm, READY);

  // The same daemon over TCP, by flag and by environment.
  const tcp = `127.0.0.1:${d.tcpPort}`;
  const viaFlag = spawnSync(INFRASIM, [
    "--daemon-address",
    tcp,
    "vm",
    "list",
    "-l",
    "env=dev",
    "-o",
    "json",
  ], {
    encoding: "utf8",
    // TCP needs the daemon's token, which the CLI reads from the data dir.
    env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir },
  });
  assert.equal(JSON.parse(viaFlag.stdout)[0].meta.name, "web", viaFlag.stderr);
  const viaEnv = spawnSync(INFRASIM, ["vm", "list", "-l", "tier!=web", "-o", "json"], {
    encoding: "utf8",
    env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: `http://${tcp}` },
  });
  assert.deepEqual(JSON.parse(viaEnv.stdout), []);

  const port = d.cli(["vm", "port", "web", "80"]);
  assert.equal(port.stdout.trim(), `127.0.0.1:${vm.status.port_forwards[0].host_port}`);
  assert.equal(d.cli(["vm", "port", "web", "22"]).code, 1);

  const logs = d.cli(["vm", "logs", "web"]);
  assert.equal(logs.code, 0);
  assert.match(logs.stdout, /INFRASIM-READY/);

  const con = d.cli(["vm", "console", "web"], "echo cli-$((20+22))\n");
  assert.equal(con.code, 0, con.stderr);
  assert.match(con.stdout, /cli-42/);

  const r = d.cli(["vm", "restart", "web"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "web: RUNNING");
});
