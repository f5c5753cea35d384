// The CLI's network commands on real guests: QoS in tc/containerlab units, `vm create
// --network NAME[:IP]`, the links `vm get` shows, live changes with `network qos`, and
// errors that name the flag.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { e2eTest, guest, guestCliArgs, READY } from "../helpers/env.ts";
import { guestSh, median, parsePing } from "../helpers/guest_shell.ts";

const G = guest("x86_64");

e2eTest("cli: network create|list|get|qos|delete and vm create --network", async (d) => {
  const run = (...args: string[]) => d.cli(args);
  let r = run(
    "network",
    "create",
    "--name",
    "wan",
    "--cidr",
    "10.20.0.0/24",
    "--latency",
    "20ms",
    "--loss",
    "0%",
    "--rate",
    "100mbit",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Link QoS:\s+latency 20ms, rate 100mbit/);
  const net = JSON.parse(run("-o", "json", "network", "get", "wan").stdout);
  assert.deepEqual(net.spec.link_qos, { latency_ms: 20, loss_percent: 0, rate_kbps: 100000 });
  const boot = [...guestCliArgs(G), "--no-network", "--start"];
  assert.equal(run("vm", "create", "--name", "a", ...boot, "--network", "wan").code, 0);
  r = run("vm", "create", "--name", "b", ...boot, "--network", "wan:10.20.0.2");
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /Link 0:\s+wan 10\.20\.0\.2\/24 52:54:00(:[0-9a-f]{2}){3} up, latency 20ms/,
  );
  assert.match(r.stdout, /Network:\s+none/);
  assert.match(
    run("network", "list").stdout,
    /^NAME\s+CIDR\s+STATE\s+VMS\s+LINK QOS.*\nwan\s+10\.20\.0\.0\/24\s+ACTIVE\s+2\s+latency 20ms/,
  );
  assert.match(
    run("network", "get", "wan").stdout,
    /\nb\s+0\s+10\.20\.0\.2\s+\S+\s+up\s+latency 20ms/,
  );

  const a = await d.client.getVm("a");
  await d.waitSerial(a, READY);
  await d.waitSerial(await d.client.getVm("b"), READY);
  const rtt = async () =>
    median(parsePing((await guestSh(d.client, a, "ping -c 8 -i 0.1 -W 2 10.20.0.2")).out).rtts);
  await guestSh(d.client, a, "ping -c 2 -W 2 10.20.0.2");
  const before = await rtt();
  assert.ok(before >= 40 && before < 55, `RTT ${before} ms with 20ms each way`);
  // One VM's link, live: b's replies now wait 100 ms more.
  r = run("network", "qos", "wan", "--vm", "b", "--latency", "120ms");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nb\s+0\s+10\.20\.0\.2\s+\S+\s+up\s+latency 120ms, rate 100mbit/);
  const after = await rtt();
  assert.ok(after >= 140 && after < 160, `RTT ${after} ms with 20ms + 120ms`);
  assert.equal((await d.client.getVm("a")).status!.pid, a.status!.pid, "no restart");
  r = run("network", "qos", "wan", "--reset");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Link QoS:\s+-\n/);
  // A seed reaches the running engine's configuration; the rest of the spec stays.
  r = run("network", "update", "wan", "--seed", "4294967295");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Seed:\s+4294967295\n/);
  const engineCfg = JSON.parse(
    readFileSync(join(d.dataDir, "net", net.meta.id, "engine.json"), "utf8"),
  );
  assert.equal(engineCfg.seed, 4294967295);
  assert.equal(engineCfg.links.length, 2);
  r = run("network", "update", "wan", "--no-seed");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Seed:\s+-\n/);
  const cleared = JSON.parse(
    readFileSync(join(d.dataDir, "net", net.meta.id, "engine.json"), "utf8"),
  );
  assert.equal(cleared.seed, undefined);
  assert.equal(cleared.links.length, 2);

  // Errors name the flag; nothing is made.
  const bad: Array<[string[], number, RegExp]> = [
    [
      ["network", "create", "--name", "x", "--cidr", "10.0.0.0/24", "--loss", "150%"],
      2,
      /^error: --loss: must be between 0 and 100/,
    ],
    [
      ["network", "create", "--name", "x", "--cidr", "10.0.0.0/24", "--latency", "-5ms"],
      2,
      /^error: --latency: "-5ms" is not a duration/,
    ],
    [
      ["network", "create", "--name", "x", "--cidr", "10.0.0.0/24", "--rate", "fast"],
      2,
      /^error: --rate: "fast" is not a rate/,
    ],
    [
      ["network", "create", "--name", "x", "--cidr", "10.0.0.0/24", "--seed", "4294967296"],
      2,
      /^error: --seed: must be between 0 and 4294967295/,
    ],
    // 2^32 + 1500 once wrapped to a valid 1500 when it was encoded.
    [
      ["network", "create", "--name", "x", "--cidr", "10.0.0.0/24", "--mtu", "4294968796"],
      2,
      /^error: --mtu: must be between 576 and 9000/,
    ],
    [
      ["network", "create", "--name", "x", "--cidr", "10.0.0.1/24"],
      1,
      /^error: INVALID_ARGUMENT: --cidr: "10\.0\.0\.1\/24" has host bits set; the network is 10\.0\.0\.0\/24/,
    ],
    [
      ["vm", "create", "--name", "c", ...guestCliArgs(G), "--network", "wan:10.20.0.2"],
      1,
      /^error: INVALID_ARGUMENT: --network: 10\.20\.0\.2 is already used on network "wan" by VM "b"/,
    ],
    [
      ["vm", "create", "--name", "c", ...guestCliArgs(G), "--network", "wan:10.20.9.2"],
      1,
      /^error: INVALID_ARGUMENT: --network: 10\.20\.9\.2 is outside 10\.20\.0\.0\/24/,
    ],
    [["network", "qos", "wan", "--vm", "nosuch", "--loss", "1"], 1, /not found/],
    [
      ["network", "delete", "wan"],
      1,
      /^error: FAILED_PRECONDITION: network "wan" is in use by vm "[ab]"/,
    ],
  ];
  for (const [args, code, re] of bad) {
    r = run(...args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.doesNotMatch(run("network", "list").stdout, /^x /m);
  assert.equal(JSON.parse(run("-o", "json", "vm", "list").stdout).length, 2);
  assert.equal(run("vm", "delete", "--force", "a", "b").code, 0);
  r = run("network", "rm", "wan");
  assert.equal(r.code, 0, r.stderr);
  assert.match(run("network", "list").stdout, /No networks\./);
});
