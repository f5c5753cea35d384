// A real Debian 12 cloud image through the CLI: `vm create --image --wait` makes the
// overlay volume and returns once sshd answers; `vm ssh` logs in with the daemon's key
// and checks the daemon-made host key strictly; the root grows to --disk-size, and
// again while running; a private NIC gets its address from cloud-init; the VM survives a
// daemon restart still reachable. `vm ssh -i` logs in with a key at a non-default path
// instead of the daemon's, and -o, -A and -L reach ssh; -o cannot unpin the host key.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { debianImage, e2eTest, freePort, INFRASIM, waitFor } from "../helpers/env.ts";

const IMAGE = debianImage("x86_64");
const GIB = 1024 ** 3;

e2eTest("debian (CLI): --image --wait, vm ssh with a pinned host key, grow root", async (d) => {
  // timeoutMs: for the commands that wait with a --timeout of their own, beyond it.
  const ok = (args: string[], timeoutMs?: number) => {
    const r = d.cli(args, undefined, timeoutMs);
    // A wait that fails says what the guest's console showed, the only trace of a boot
    // that stalled (the data dir goes with the test).
    const serial = r.code !== 0 && args.includes("--wait")
      ? `\nserial log, last lines:\n${
        d.cli(["vm", "logs", args[args.indexOf("--name") + 1]]).stdout.split("\n").slice(-60)
          .join("\n")
      }`
      : "";
    assert.equal(r.code, 0, `infrasim ${args.join(" ")}: ${r.stderr}${serial}`);
    return r.stdout;
  };
  ok(["image", "import", "--name", "debian-12", IMAGE]);
  ok(["network", "create", "--name", "lan", "--cidr", "10.50.0.0/24"]);
  const t0 = Date.now();
  const created = ok([
    "vm",
    "create",
    "--name",
    "web",
    "--image",
    "debian-12",
    "--disk-size",
    "4G",
    "--memory",
    "1024",
    "--network",
    "lan:10.50.0.5",
    "--wait",
    "--timeout",
    "400",
  ], 450_000);
  const readyS = (Date.now() - t0) / 1000;
  assert.match(created, /State:\s+RUNNING/);
  assert.match(created, /SSH:\s+infrasim vm ssh web/);
  console.log(`debian: create --wait returned after ${readyS.toFixed(1)} s`);

  const uname = ok(["vm", "ssh", "web", "--", "uname", "-a"]);
  assert.match(uname, /^Linux web 6\.\d+.*x86_64 GNU\/Linux/);
  // The exit code of the remote command is the CLI's.
  assert.equal(d.cli(["vm", "ssh", "web", "--", "exit", "3"]).code, 3);
  // growpart grew the root partition to the 4 GiB volume.
  const size = Number(
    ok(["vm", "ssh", "web", "--", "df", "-B1", "--output=size", "/"]).split("\n")[1],
  );
  assert.ok(size > 3.5 * GIB, `root is ${size} bytes`);
  assert.equal(ok(["vm", "ssh", "web", "--", "hostname"]).trim(), "web");

  // A restore ends an open `vm ssh` session, clearly: its connection belonged to the
  // guest's state before, and would only hang.
  ok(["snapshot", "create", "web", "--name", "before"], 300_000);
  const session = spawn(INFRASIM, ["vm", "ssh", "web", "--", "echo opened; sleep 300"], {
    env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
  });
  let sessionOut = "", sessionErr = "";
  session.stdout.on("data", (b) => (sessionOut += b));
  session.stderr.on("data", (b) => (sessionErr += b));
  const sessionEnd = new Promise<number>((r) => session.on("exit", (c) => r(c ?? -1)));
  await waitFor("the ssh session", () => sessionOut.includes("opened"), 60_000);
  await d.client.restoreSnapshot({ ref: "before" });
  const code = await Promise.race([sessionEnd, new Promise((r) => setTimeout(r, 20_000, "hung"))]);
  assert.equal(code, 255, sessionErr);
  assert.match(
    sessionErr,
    /vm "web" was restored from snapshot "before": this ssh session ended/,
  );
  assert.match(ok(["vm", "get", "web"]), /Restored:\s+\S+ from snapshot before/);
  ok(["snapshot", "delete", "before"]);
  // The private NIC got its address from the generated network-config (matched by MAC),
  // and the user-mode NIC kept DHCP (ssh came through it).
  const addrs = ok(["vm", "ssh", "web", "--", "ip", "-4", "-o", "addr"]);
  assert.match(addrs, /inet 10\.50\.0\.5\/24 /, addrs);

  await sshOptions(d.dataDir, ok);

  // Strict host key checking: a different pinned key is refused, never replaced.
  const vm = await d.client.getVm("web");
  const kh = vm.status!.ssh!.known_hosts_path;
  const good = readFileSync(kh, "utf8");
  const other = good.replace(
    /AAAA\S+/,
    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  );
  writeFileSync(kh, other);
  const bad = d.cli(["vm", "ssh", "web", "--", "true"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  assert.equal(readFileSync(kh, "utf8"), other, "ssh did not rewrite the pinned key");
  writeFileSync(kh, good);

  // Grown while running: the guest sees it without a reboot.
  ok(["volume", "resize", "web-root", "5G"]);
  const disk = ok(["vm", "ssh", "web", "--", "lsblk", "-bdno", "SIZE", "/dev/vda"]).trim();
  assert.equal(Number(disk), 5 * GIB);
  const shrink = d.cli(["volume", "resize", "web-root", "4G"]);
  assert.equal(shrink.code, 1);
  assert.match(shrink.stderr, /cannot shrink volume "web-root" from 5 GiB to 4 GiB/);

  // New cloud-init input updates in place (no restart); at the next boot the new
  // instance-id makes cloud-init run again, and the guest takes the new host name.
  const cur = await d.client.getVm("web");
  const pid = cur.status!.pid;
  await d.client.updateVm({
    ref: "web",
    spec: { ...cur.spec!, cloud_init: { ...cur.spec!.cloud_init!, hostname: "web2" } },
  });
  assert.equal((await d.client.getVm("web")).status!.pid, pid, "not restarted by the update");
  ok(["vm", "restart", "web"]);
  ok(["vm", "wait", "web", "--timeout", "300"], 350_000);
  assert.equal(ok(["vm", "ssh", "web", "--", "hostname"]).trim(), "web2");

  // The daemon restarts; the VM keeps running and is still reachable the same way.
  await d.stop();
  await d.launch();
  assert.match(ok(["vm", "ssh", "web", "--", "cat", "/proc/uptime"]), /^\d+/);

  const del = d.cli(["volume", "delete", "web-root"]);
  assert.equal(del.code, 1);
  assert.match(del.stderr, /in use by vm "web"/);
  ok(["vm", "delete", "--force", "web"]);
  ok(["volume", "delete", "web-root"]);
  ok(["image", "delete", "debian-12"]);
  const stopped = d.cli(["vm", "ssh", "nope"]);
  assert.equal(stopped.code, 1);
});

/**
 * `vm ssh -i -o -A -L` against the running guest "web": a key outside ~/.ssh (ssh finds
 * ~/.ssh through the passwd entry, so only -i reaches it), named relative to the cwd.
 */
async function sshOptions(dataDir: string, ok: (args: string[]) => string): Promise<void> {
  const keys = mkdtempSync("/tmp/isk-");
  let agent = 0;
  const cli = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(INFRASIM, args, {
      cwd: keys,
      encoding: "utf8",
      env: { ...process.env, INFRASIM_DATA_DIR: dataDir, INFRASIM_DAEMON_ADDRESS: "", ...env },
      timeout: 120_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  try {
    for (const k of ["vm key", "other"]) {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", k, "-f", join(keys, k)]);
    }
    const pub = readFileSync(join(keys, "vm key.pub"), "utf8").trim();
    ok(["vm", "ssh", "web", "--", `echo '${pub}' >> ~/.ssh/authorized_keys`]);

    // -i replaces the daemon's key: only "vm key" is offered, and the guest accepts it.
    // -o reaches ssh (LogLevel=DEBUG1 shows what it offers).
    let r = cli([
      "vm",
      "ssh",
      "-i",
      "vm key",
      "-o",
      "LogLevel=DEBUG1",
      "-o",
      "ServerAliveInterval=5",
      "web",
      "--",
      "echo",
      "via-i",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "via-i");
    assert.ok(r.stderr.includes(`Server accepts key: ${keys}/vm key ED25519`), r.stderr);
    assert.ok(!r.stderr.includes(join(dataDir, "ssh/id_ed25519")), "the daemon's key: not offered");
    // A key the guest does not know is refused, not replaced by the daemon's.
    r = cli(["vm", "ssh", "--identity", "other", "web", "--", "true"]);
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied \(publickey/);

    // Usage errors, exit 2, before anything runs.
    r = cli(["vm", "ssh", "-i", "missing", "web"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: -i\/--identity: cannot read missing: ENOENT\n/);
    r = cli(["vm", "ssh", "web", "-o", "StrictHostKeyChecking=no", "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /-o\/--ssh-option: StrictHostKeyChecking cannot be changed/);
    r = cli(["vm", "ssh", "-o", "userknownhostsfile /dev/null", "web"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /-o\/--ssh-option: UserKnownHostsFile cannot be changed/);

    // -A: the guest sees the local agent and the key in it.
    const sock = join(keys, "agent.sock");
    const started = execFileSync("ssh-agent", ["-a", sock], { encoding: "utf8" });
    agent = Number(started.match(/SSH_AGENT_PID=(\d+)/)![1]);
    execFileSync("ssh-add", ["-q", join(keys, "vm key")], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
    });
    r = cli(["vm", "ssh", "-A", "web", "--", "ssh-add", "-l"], { SSH_AUTH_SOCK: sock });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^256 SHA256:\S+ vm key \(ED25519\)$/m);

    // -L: a local port forwarded through the session to the guest's own sshd.
    const port = await freePort();
    const fwd = spawn(INFRASIM, [
      "vm",
      "ssh",
      "-L",
      `127.0.0.1:${port}:127.0.0.1:22`,
      "-o",
      "ExitOnForwardFailure=yes",
      "web",
      "--",
      "sleep",
      "120",
    ], {
      env: { ...process.env, INFRASIM_DATA_DIR: dataDir, INFRASIM_DAEMON_ADDRESS: "" },
      stdio: "ignore",
      detached: true, // its own process group: the CLI and its ssh, stopped together
    });
    const exited = new Promise((res) => fwd.on("exit", res));
    try {
      const banner = await waitFor(
        "the SSH banner through -L",
        () =>
          new Promise<string>((res) => {
            const c = connect(port, "127.0.0.1");
            c.setTimeout(2000, () => c.destroy());
            c.once("data", (b) => (res(b.toString()), c.destroy()));
            c.once("error", () => c.destroy()); // not listening yet: "" and try again
            c.once("close", () => res(""));
          }),
        30_000,
        250,
      );
      assert.match(banner, /^SSH-2\.0-OpenSSH/);
    } finally {
      if (fwd.exitCode === null && fwd.signalCode === null) process.kill(-fwd.pid!, "SIGTERM");
      await exited;
    }
  } finally {
    if (agent) process.kill(agent);
    rmSync(keys, { recursive: true, force: true });
  }
}
