// The CLI's volume commands and `vm create --image` on the small test guest: flags named
// in errors, exit codes, and nothing half-made when the VM cannot be created.
import assert from "node:assert/strict";
import { e2eTest, guest, guestCliArgs } from "../helpers/env.ts";

const G = guest("x86_64");

e2eTest("cli: volume create|list|get|resize|delete", (d) => {
  const run = (...args: string[]) => d.cli(args);
  let r = run("volume", "create", "--name", "data", "--size", "2G");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Size:\s+2\.0 GiB \(2147483648 bytes\)/);
  assert.match(
    run("volume", "list").stdout,
    /^NAME\s+SIZE\s+IMAGE\s+ATTACHED TO.*\ndata\s+2\.0 GiB\s+-\s+-/,
  );
  assert.equal(
    JSON.parse(run("-o", "json", "volume", "get", "data").stdout).status.size_bytes,
    2 * 1024 ** 3,
  );
  r = run("volume", "resize", "data", "3G");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Size:\s+3\.0 GiB/);
  r = run("volume", "resize", "data", "1G");
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^error: INVALID_ARGUMENT: <size>: cannot shrink volume "data" from 3 GiB to 1 GiB/,
  );
  r = run("volume", "create", "--name", "x");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--size is required for a blank volume/);
  r = run("volume", "create", "--name", "x", "--size", "8X");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--size: "8X" is not a size in GiB/);
  r = run("volume", "delete", "data");
  assert.equal(r.code, 0, r.stderr);
  assert.match(run("volume", "list").stdout, /No volumes\./);
});

e2eTest("cli: vm create --image makes <name>-root, and removes it when the VM fails", (d) => {
  const run = (...args: string[]) => d.cli(args);
  assert.equal(run("image", "import", "--name", "tiny", G.disk).code, 0);
  let r = run("vm", "create", "--name", "a", "--image", "tiny", "--disk-size", "1G");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Boot:\s+uefi volume a-root/);
  assert.match(r.stdout, /Ports:\s+\d+->22/, "port 22 forwarded for vm ssh");
  assert.match(r.stdout, /Cloud-init:\s+user infrasim, hostname a, the daemon's key/);
  assert.match(r.stdout, /Wait for:\s+guest port 22/);
  const vol = JSON.parse(run("-o", "json", "volume", "get", "a-root").stdout);
  assert.equal(vol.meta.labels["infrasim.dev/vm"], "a");
  r = run("vm", "ssh", "a");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /vm a is pending; start it first \(infrasim vm start a\)/);

  r = run("vm", "create", "--name", "b", "--image", "nope");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--image: image "nope" not found/);
  r = run("vm", "create", "--name", "b", "--image", "tiny", "--disk-size", "100000G");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--disk-size: must be between 1 and 65536/);
  r = run("vm", "create", "--name", "b", "--image", "tiny", "--kernel", G.kernel);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--kernel and --image: give one boot source/);
  r = run("vm", "create", "--name", "b", "--kernel", G.kernel, "--ssh-key", "/nonexistent.pub");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--ssh-key: cannot read \/nonexistent\.pub: ENOENT/);

  // A VM named like an existing one: the volume made for it goes again.
  assert.equal(run("vm", "create", "--name", "e", ...guestCliArgs(G)).code, 0);
  r = run("vm", "create", "--name", "e", "--image", "tiny");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /a VM named "e" already exists/);
  const names = JSON.parse(run("-o", "json", "volume", "list").stdout).map((
    v: { meta: { name: string } },
  ) => v.meta.name);
  assert.deepEqual(names, ["a-root"]);

  r = run("vm", "delete", "a");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /its volumes are kept: a-root \(infrasim volume delete a-root\)/);
});
