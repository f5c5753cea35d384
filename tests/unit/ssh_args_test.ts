// `infrasim vm ssh -i -o -A -L`: the ssh command line (src/ssh/args.ts). ssh takes the
// first value it gets for an option, so the order is part of what is tested.
import assert from "node:assert/strict";
import { PINNED_OPTIONS, sshArgs, sshOptionProblem } from "../../src/ssh/args.ts";

const access = {
  user: "infrasim",
  host_port: 2222,
  host_key: "ssh-ed25519 AAAA",
  known_hosts_path: "/d/vms/x/known_hosts",
  host_key_alias: "infrasim-x",
  identity_path: "/d/ssh/id_ed25519",
};

/** The values given with `flag` before the destination, in order. */
function values(args: string[], flag: string): string[] {
  const dest = args.findIndex((a) => a.endsWith("@127.0.0.1"));
  return args.slice(0, dest).flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

Deno.test("ssh args: no extras is today's command line", () => {
  assert.deepEqual(sshArgs(access, "infrasim", ["true"], true), [
    "-p",
    "2222",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/d/vms/x/known_hosts",
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "HostKeyAlias=infrasim-x",
    "-o",
    "ConnectTimeout=15",
    "-i",
    "/d/ssh/id_ed25519",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "infrasim@127.0.0.1",
    "--",
    "true",
  ]);
  assert.deepEqual(sshArgs(access, "infrasim", [], false, {}), sshArgs(access, "infrasim", []));
});

Deno.test("ssh args: -i replaces the daemon's key, and only the given keys are offered", () => {
  const args = sshArgs(access, "me", [], false, { identities: ["/home/me/keys/vm", "/k2"] });
  assert.deepEqual(values(args, "-i"), ["/home/me/keys/vm", "/k2"]);
  assert.ok(values(args, "-o").includes("IdentitiesOnly=yes"));
  // Without the daemon's key (a VM made with --ssh-key), -i still gives IdentitiesOnly.
  const own = sshArgs({ ...access, identity_path: "" }, "me", [], false, { identities: ["/k"] });
  assert.deepEqual(values(own, "-i"), ["/k"]);
  assert.ok(values(own, "-o").includes("IdentitiesOnly=yes"));
  // Neither: ssh's own defaults and agent, as before.
  const none = sshArgs({ ...access, identity_path: "" }, "me", []);
  assert.deepEqual(values(none, "-i"), []);
  assert.ok(!values(none, "-o").includes("IdentitiesOnly=yes"));
});

Deno.test("ssh args: -o after the pinned options and before InfraSim's defaults; -A, -L", () => {
  const args = sshArgs(access, "infrasim", ["uname", "-a"], true, {
    options: ["ServerAliveInterval=5", "ConnectTimeout 60"],
    forwardAgent: true,
    localForwards: ["8080:127.0.0.1:80", "127.0.0.1:5432:db:5432"],
  });
  const o = values(args, "-o");
  const at = (v: string) => o.indexOf(v);
  assert.ok(at("HostKeyAlias=infrasim-x") < at("ServerAliveInterval=5"));
  assert.ok(at("StrictHostKeyChecking=yes") < at("ServerAliveInterval=5"));
  // The user's ConnectTimeout comes first, so it is the one ssh uses.
  assert.ok(at("ConnectTimeout 60") < at("ConnectTimeout=15"));
  assert.ok(at("ConnectTimeout 60") < at("BatchMode=yes"));
  assert.deepEqual(values(args, "-L"), ["8080:127.0.0.1:80", "127.0.0.1:5432:db:5432"]);
  assert.equal(args.filter((a) => a === "-A").length, 1);
  assert.ok(args.indexOf("-A") < args.indexOf("infrasim@127.0.0.1"));
  assert.deepEqual(args.slice(-4), ["infrasim@127.0.0.1", "--", "uname", "-a"]);
  assert.ok(!sshArgs(access, "u", []).includes("-A"));
  assert.ok(!sshArgs(access, "u", []).includes("-L"));
});

Deno.test("ssh args: -o may not change the pinned host key options, in any spelling", () => {
  for (
    const ok of [
      "ServerAliveInterval=5",
      "ServerAliveInterval 5",
      "SetEnv=A=b",
      " Compression = yes",
    ]
  ) {
    assert.equal(sshOptionProblem(ok), undefined, ok);
  }
  for (const p of PINNED_OPTIONS) {
    for (const o of [`${p}=no`, `${p.toLowerCase()} no`, ` ${p.toUpperCase()} = x`, p]) {
      assert.match(sshOptionProblem(o) ?? "", new RegExp(`^${p} cannot be changed: `), o);
    }
  }
  for (const p of ["StrictHostKeyChecking", "UserKnownHostsFile", "HostKeyAlias"]) {
    assert.ok((PINNED_OPTIONS as readonly string[]).includes(p), p);
  }
  assert.match(sshOptionProblem("json")!, /^"json" has no value/);
  assert.match(sshOptionProblem("Port=")!, /has no value/);
  assert.match(sshOptionProblem("")!, /is not an ssh option/);
  assert.match(sshOptionProblem("-v")!, /^"-v" is not an ssh option \(Key=Value/);
  assert.match(sshOptionProblem("Key: v")!, /is not an ssh option/);
});
