// The NoCloud seed: its files as a pure function of the input, a real ISO labelled
import { Buffer } from "node:buffer";
// "cidata" from the real tool, and the ssh command line that pins the host key.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { findIsoTool, isoArgs, writeSeed } from "../../src/cloudinit/iso.ts";
import { instanceId, seedFiles, type SeedInput } from "../../src/cloudinit/seed.ts";
import { sshArgs } from "../../src/ssh/args.ts";
import { normalizeCloudInit } from "../../src/api/validate/guest.ts";
import { ApiError } from "../../src/api/errors.ts";

const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host";
const input = (over: Partial<SeedInput["cloudInit"]> = {}): SeedInput => ({
  vmId: "0b5e3c1e-7f55-4d0c-9d5e-3a4b7c1f2e10",
  vmName: "web",
  cloudInit: normalizeCloudInit({
    user_data: "",
    meta_data: "",
    network_config: "",
    hostname: "",
    ssh_authorized_keys: [],
    user: "",
    ...over,
  }, "spec")!,
  hostKey: {
    privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
    publicKey: "ssh-ed25519 AAAAhost\n",
  },
  authorizedKeys: [`${KEY}\n`],
});

Deno.test("seed: meta-data, vendor-data with the host key and user, user-data as given", () => {
  const f = seedFiles(input({ user_data: "#!/bin/sh\necho hi\n" }));
  const meta = parse(f["meta-data"]);
  assert.equal(meta["local-hostname"], "web");
  assert.match(meta["instance-id"], /^iid-0b5e3c1e-[0-9a-f]{16}$/);
  assert.equal(f["user-data"], "#!/bin/sh\necho hi\n");
  assert.ok(f["vendor-data"].startsWith("#cloud-config\n"));
  const vendor = parse(f["vendor-data"]);
  assert.equal(vendor.ssh_keys.ed25519_public, "ssh-ed25519 AAAAhost");
  assert.equal(vendor.ssh_keys.ed25519_private, "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n");
  assert.equal(vendor.users[0], "default");
  assert.equal(vendor.users[1].name, "infrasim");
  assert.deepEqual(vendor.users[1].ssh_authorized_keys, [KEY]);
  assert.equal(f["network-config"], undefined);
});

Deno.test("seed: the instance-id changes with any input, and only then", () => {
  const a = instanceId(input());
  assert.equal(instanceId(input()), a);
  assert.notEqual(instanceId(input({ hostname: "other" })), a);
  assert.notEqual(instanceId(input({ user_data: "#cloud-config\n{}\n" })), a);
  assert.notEqual(instanceId({ ...input(), authorizedKeys: [] }), a);
});

Deno.test("seed: the user's meta-data wins; network-config passes through", () => {
  const f = seedFiles(input({
    meta_data: "local-hostname: db\nextra: 1\n",
    network_config: "version: 2\nethernets: {}\n",
  }));
  const meta = parse(f["meta-data"]);
  assert.equal(meta["local-hostname"], "db");
  assert.equal(meta.extra, 1);
  assert.equal(f["network-config"], "version: 2\nethernets: {}\n");
});

Deno.test("cloud_init validation names the field", () => {
  const bad = (over: object, text: RegExp) =>
    assert.throws(
      () => normalizeCloudInit({ ...input().cloudInit, ...over }, "spec"),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.match(e.message, text);
        return true;
      },
    );
  bad({ ssh_authorized_keys: ["not a key"] }, /^spec\.cloud_init\.ssh_authorized_keys\[0\]: /);
  bad({ ssh_authorized_keys: [`${KEY}\nssh-rsa AAAA`] }, /ssh_authorized_keys\[0\]/);
  bad({ hostname: "bad_host" }, /^spec\.cloud_init\.hostname: /);
  bad({ user: "root" }, /^spec\.cloud_init\.user: /);
  bad({ meta_data: "[1, 2]" }, /^spec\.cloud_init\.meta_data: must be a YAML mapping/);
  bad({ meta_data: "a: [" }, /^spec\.cloud_init\.meta_data: is not valid YAML/);
  bad({ network_config: "ethernets: {}" }, /^spec\.cloud_init\.network_config: must say version/);
  bad({ user_data: "x".repeat(1 << 20) + "x" }, /^spec\.cloud_init: must total at most 1 MiB/);
});

Deno.test("iso: command lines per tool", () => {
  assert.deepEqual(isoArgs("xorriso", "/d", "/o.iso"), [
    "-as",
    "mkisofs",
    "-quiet",
    "-output",
    "/o.iso",
    "-volid",
    "cidata",
    "-joliet",
    "-rock",
    "/d",
  ]);
  assert.deepEqual(isoArgs("hdiutil", "/d", "/o.iso").slice(0, 3), ["makehybrid", "-quiet", "-o"]);
  assert.ok(isoArgs("hdiutil", "/d", "/o.iso").includes("cidata"));
});

Deno.test({
  name: "iso: a real seed is ISO 9660 labelled cidata, holding the files",
  ignore: !findIsoTool(),
  fn: async () => {
    const dir = mkdtempSync("/tmp/seed-");
    try {
      const out = join(dir, "seed.iso");
      await writeSeed(seedFiles(input()), out);
      const iso = readFileSync(out);
      // The primary volume descriptor at sector 16: "CD001", the volume id at byte 40.
      assert.equal(iso.subarray(32769, 32774).toString(), "CD001");
      assert.equal(iso.subarray(32808, 32840).toString().trim(), "cidata");
      for (const name of ["meta-data", "user-data", "vendor-data"]) {
        assert.ok(iso.includes(Buffer.from(name)), name);
      }
      assert.ok(iso.includes(Buffer.from("ssh-ed25519 AAAAhost")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test("ssh: the host key pinned under an alias, never trusted on first use", () => {
  const a = {
    user: "infrasim",
    host_port: 2222,
    host_key: "ssh-ed25519 AAAA",
    known_hosts_path: "/d/vms/x/known_hosts",
    host_key_alias: "infrasim-x",
    identity_path: "/d/ssh/id_ed25519",
  };
  const args = sshArgs(a, "infrasim", ["uname", "-a"], true);
  const opt = (o: string) => args.includes(o);
  assert.ok(opt("StrictHostKeyChecking=yes"));
  assert.ok(opt("UserKnownHostsFile=/d/vms/x/known_hosts"));
  assert.ok(opt("GlobalKnownHostsFile=/dev/null"));
  assert.ok(opt("HostKeyAlias=infrasim-x"));
  assert.ok(opt("BatchMode=yes"));
  assert.deepEqual(args.slice(args.indexOf("-i"), args.indexOf("-i") + 2), [
    "-i",
    "/d/ssh/id_ed25519",
  ]);
  assert.deepEqual(args.slice(-4), ["infrasim@127.0.0.1", "--", "uname", "-a"]);
  assert.ok(!sshArgs({ ...a, identity_path: "" }, "u", []).includes("-i"));
});
