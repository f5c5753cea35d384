// The link engine's counters, read through the API and the CLI while real guests ping:
// frames dropped by the configured loss are counted on the sending link, each direction on
// its own, and the engine reports its own timer lateness.
import assert from "node:assert/strict";
import { e2eTest } from "../helpers/env.ts";
import { guestSh, parsePing } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";

e2eTest("counters: loss 20% on a's link is counted on what a sends, not on b's", async (d) => {
  await d.client.createNetwork({ meta: { name: "cnt" }, spec: { cidr: "10.31.0.0/24" } });
  const [a, b] = await bootAll(d, [
    netVm("a", [{ network: "cnt", link_qos: { loss_percent: 20, latency_ms: 2 } }]),
    netVm("b", [{ network: "cnt" }]),
  ]);
  const ip = b.status!.links[0].ip;
  await guestSh(d.client, a, `ping -c 3 -i 0.2 -W 1 ${ip}`); // ARP
  const before = await d.client.getNetworkCounters({ ref: "cnt" });
  const lostBefore = before.links.find((l) => l.vm_name === "a")!.sent!.dropped_loss;
  const r = parsePing((await guestSh(d.client, a, `ping -q -c 200 -i 0.02 -W 2 ${ip}`)).out);
  assert.equal(r.transmitted, 200);

  // The CLI's JSON is the API's message.
  const cli = d.cli(["network", "counters", "cnt", "-o", "json"]);
  assert.equal(cli.code, 0, cli.stderr);
  const c = JSON.parse(cli.stdout);
  assert.equal(c.network_id, before.network_id);
  const la = c.links.find((l: { vm_name: string }) => l.vm_name === "a");
  const lb = c.links.find((l: { vm_name: string }) => l.vm_name === "b");
  assert.ok(la.connected && lb.connected);
  const lost = la.sent.dropped_loss - lostBefore;
  // Only a's echo requests meet loss (b's replies are not impaired), and an ARP frame may:
  // every request the engine dropped is a ping lost. Not the other way round: a neighbour
  // entry whose ARP answer was lost makes a guest's kernel drop packets itself.
  assert.ok(lost <= 200 - r.received + 6, `${lost} dropped vs ${200 - r.received} pings lost`);
  assert.ok(lost >= 20 && lost <= 65, `${lost} of 200 lost at 20%`);
  assert.equal(lb.sent.dropped_loss, 0, "b's link has no loss");
  assert.equal(la.received.dropped_loss, 0, "only what a sends is impaired");
  assert.ok(lb.received.frames >= r.received, "b received what got through");
  assert.ok(la.sent.bytes > la.sent.frames * 60, "bytes are counted");
  assert.ok(c.engine_rss_bytes > 1e6 && c.engine_pid > 0);
  // 2 ms of delay held every frame a sent: the engine says how late they left.
  assert.ok(c.timer_lateness_p99_us < 20_000, `timer lateness p99 ${c.timer_lateness_p99_us} µs`);
  console.log(
    `counters: ${lost} of 200 dropped by loss (ping saw ${200 - r.received}); engine RSS ` +
      `${
        (c.engine_rss_bytes / 2 ** 20).toFixed(1)
      } MiB, lateness p50 ${c.timer_lateness_p50_us} µs ` +
      `p99 ${c.timer_lateness_p99_us} µs`,
  );

  // People get them in `network get` too.
  const get = d.cli(["network", "get", "cnt"]);
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /LINK\s+DIR\s+FRAMES\s+BYTES\s+LOSS/);
  assert.match(get.stdout, /^a:nic0\s+sent\s+\d+/m);
  assert.match(get.stdout, /Engine: pid \d+, RSS [\d.]+ MiB, timer lateness p50/);

  // Link down: a pulled cable. Nothing passes either way, b's pings to a are counted as
  // down drops on a's received side, the guest sees no carrier; up: all back, live.
  const mac = a.status!.links[0].mac;
  const carrier = async () =>
    (await guestSh(
      d.client,
      a,
      `for i in /sys/class/net/*; do [ "$(cat $i/address)" = ${mac} ] && cat $i/carrier; done`,
    )).out.trim();
  assert.equal(await carrier(), "1");
  const down = d.cli(["network", "link", "cnt", "down", "--vm", "a"]);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /^a\s+0\s+\S+\s+\S+\s+down/m);
  const aIp = a.status!.links[0].ip;
  const gone = parsePing((await guestSh(d.client, b, `ping -c 5 -i 0.2 -W 1 ${aIp}`)).out);
  assert.equal(gone.received, 0, "nothing passes a pulled cable");
  assert.equal(await carrier(), "0", "the guest sees no carrier");
  const cd = await d.client.getNetworkCounters({ ref: "cnt" });
  const dropped = cd.links.find((l) => l.vm_name === "a")!.received!.dropped_down;
  assert.ok(dropped >= 5, `${dropped} down drops on a's received side`);
  const st = (await d.client.getVm("a")).status!;
  assert.equal(st.links[0].state, "down");
  assert.match(st.links[0].message, /set down \(link_state\); the guest sees no carrier/);
  assert.equal(st.pid, a.status!.pid, "the VM ran on");
  assert.equal(d.cli(["network", "link", "cnt", "up", "--vm", "a"]).code, 0);
  // a's replies still meet its 20% loss: 3 of 5 failed 6% of the time by chance alone;
  // 4 of 10 does about once in a thousand.
  const back = parsePing((await guestSh(d.client, b, `ping -c 10 -i 0.2 -W 2 ${aIp}`)).out);
  assert.ok(back.received >= 4, `${back.received} of 10 after the link came up`);
  assert.equal(await carrier(), "1");
  const bad = d.cli(["network", "link", "cnt", "sideways", "--vm", "a"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /<state>: must be up or down/);

  // Counting needs the engine: an unknown network is NOT_FOUND, with the ref quoted.
  const none = d.cli(["network", "counters", "nope"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /not found/);
});
