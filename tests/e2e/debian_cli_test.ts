// A real Debian 12 cloud image through the CLI: `vm create --image --wait` makes the
// overlay volume and returns once sshd answers; `vm ssh` logs in with the daemon's key
// and checks the daemon-made host key strictly; the root grows to --disk-size, and
// again while running; a private NIC gets its address from cloud-init; the VM survives a
// daemon restart still reachable.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { debianImage, e2eTest } from "../helpers/env.ts";

const IMAGE = debianImage("x86_64");
const GIB = 1024 ** 3;

e2eTest("debian (CLI): --image --wait, vm ssh with a pinned host key, grow root", async (d) => {
  // timeoutMs: for the commands that wait with a --timeout of their own, beyond it.
  const ok = (args: string[], timeoutMs?: number) => {
    const r = d.cli(args, undefined, timeoutMs);
    assert.equal(r.code, 0, `infrasim ${args.join(" ")}: ${r.stderr}`);
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
  // The private NIC got its address from the generated network-config (matched by MAC),
  // and the user-mode NIC kept DHCP (ssh came through it).
  const addrs = ok(["vm", "ssh", "web", "--", "ip", "-4", "-o", "addr"]);
  assert.match(addrs, /inet 10\.50\.0\.5\/24 /, addrs);

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
