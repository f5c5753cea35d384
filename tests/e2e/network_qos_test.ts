// Link impairment measured between real guests: latency, loss, rate and jitter, and a
// change applied live. Tolerances allow for TCG's own noise (a ping RTT of 1-5 ms).
import assert from "node:assert/strict";
import { e2eTest, type TestDaemon } from "../helpers/env.ts";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { guestSh, median, parsePing, stddev } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";

/**
 * A network with these defaults and two booted guests a and b on it; ARP is done, so the
 * first measured ping is not the slow one. Returns them and b's IP.
 */
async function pair(d: TestDaemon, name: string, cidr: string, qos: T.LinkQos) {
  await d.client.createNetwork({ meta: { name }, spec: { cidr, link_qos: qos } });
  const [a, b] = await bootAll(d, [
    netVm("a", [{ network: name }]),
    netVm("b", [{ network: name }]),
  ]);
  const ip = b.status!.links[0].ip;
  await guestSh(d.client, a, `ping -c 2 -W 2 ${ip}`);
  return { a, b, ip };
}

/** The 99% two-sided interval of a binomial count (exact, from its cumulative sums). */
function binomialInterval(n: number, p: number): [number, number] {
  const pmf: number[] = [];
  let logC = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log((n - k + 1) / k);
    pmf.push(Math.exp(logC + k * Math.log(p) + (n - k) * Math.log(1 - p)));
  }
  let lo = 0, cdf = 0;
  while (cdf + pmf[lo] < 0.005) cdf += pmf[lo++];
  let hi = n, tail = 0;
  while (tail + pmf[hi] < 0.005) tail += pmf[hi--];
  return [lo, hi];
}

e2eTest("latency 50 ms on a network: a ping between two of its VMs takes 100-115 ms", async (d) => {
  const { a, ip } = await pair(d, "wan", "10.20.0.0/24", { latency_ms: 50 });
  assert.equal(a.status!.links[0].link_qos!.latency_ms, 50);
  const r = parsePing((await guestSh(d.client, a, `ping -c 50 -i 0.1 -W 2 ${ip}`)).out);
  assert.equal(r.received, 50);
  const m = median(r.rtts);
  console.log(`latency 50: median RTT ${m} ms over ${r.received} pings`);
  assert.ok(m >= 100 && m <= 115, `median RTT ${m} ms`);
});

e2eTest(
  "loss 10% on one link: round-trip loss over 500 pings is binomially plausible",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "lossy" }, spec: { cidr: "10.30.0.0/24" } });
    const [a, b] = await bootAll(d, [
      netVm("a", [{ network: "lossy", link_qos: { loss_percent: 10 } }]),
      netVm("b", [{ network: "lossy" }]),
    ]);
    const ip = b.status!.links[0].ip;
    await guestSh(d.client, a, `ping -c 5 -i 0.1 -W 1 ${ip}`);
    const r = parsePing((await guestSh(d.client, a, `ping -q -c 500 -i 0.02 -W 2 ${ip}`)).out);
    assert.equal(r.transmitted, 500);
    const lost = r.transmitted - r.received;
    const [lo, hi] = binomialInterval(500, 0.1);
    console.log(`loss 10%: ${lost} of 500 lost (99% interval ${lo}..${hi})`);
    assert.ok(lost >= lo && lost <= hi, `lost ${lost} of 500, expected ${lo}..${hi}`);
  },
);

e2eTest("rate 1000 kbps on the sender's link: 1 MB takes 8 s ± 15%", async (d) => {
  await d.client.createNetwork({ meta: { name: "slow" }, spec: { cidr: "10.40.0.0/24" } });
  const [srv, cli] = await bootAll(d, [
    netVm("srv", [{ network: "slow", ip: "10.40.0.2", link_qos: { rate_kbps: 1000 } }]),
    netVm("cli", [{ network: "slow" }]),
  ]);
  const mk = await guestSh(d.client, srv, "dd if=/dev/zero of=/www/1m bs=1000 count=1000");
  assert.equal(mk.code, 0, mk.out);
  const t = await guestSh(
    d.client,
    cli,
    "a=$(cut -d' ' -f1 /proc/uptime); wget -q -O /dev/null http://10.40.0.2/1m; " +
      "echo T=$a,$(cut -d' ' -f1 /proc/uptime)",
    60_000,
  );
  assert.equal(t.code, 0, t.out);
  const [a, b] = t.out.match(/T=([\d.]+),([\d.]+)/)!.slice(1).map(Number);
  const s = b - a;
  console.log(`rate 1000 kbps: 1 MB in ${s.toFixed(2)} s`);
  assert.ok(s >= 8 * 0.85 && s <= 8 * 1.15, `1 MB took ${s.toFixed(2)} s`);
});

e2eTest("jitter: the RTT spread grows with jitter_ms", async (d) => {
  const { a, ip } = await pair(d, "jit", "10.50.0.0/24", { latency_ms: 30 });
  const spread = async () =>
    stddev(parsePing((await guestSh(d.client, a, `ping -c 40 -i 0.2 -W 2 ${ip}`)).out).rtts);
  const calm = await spread();
  await d.client.updateNetwork({
    ref: "jit",
    spec: { cidr: "10.50.0.0/24", link_qos: { latency_ms: 30, jitter_ms: 20 } },
  });
  const shaky = await spread();
  console.log(`jitter: RTT stddev ${calm.toFixed(1)} ms at jitter 0, ${shaky.toFixed(1)} at 20`);
  assert.ok(
    shaky > calm + 4,
    `stddev ${calm.toFixed(1)} ms without jitter, ${shaky.toFixed(1)} with`,
  );
});

e2eTest(
  "live: latency 50 -> 5 ms while pinging; the RTT drops within 1 s, no reboot",
  async (d) => {
    const { a, ip } = await pair(d, "live", "10.60.0.0/24", { latency_ms: 50 });
    // Replies are streamed from the console as they come, stamped with the host's clock.
    const seen: Array<{ at: number; ms: number }> = [];
    let buf = "";
    const s = d.client.console(a.meta!.id, (c) => {
      buf += new TextDecoder().decode(c);
      for (const m of buf.matchAll(/time=([\d.]+) ms/g)) {
        seen.push({ at: Date.now(), ms: Number(m[1]) });
      }
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
    });
    s.write(`ping -c 60 -i 0.1 ${ip}\n`);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(seen.length > 5 && seen.every((x) => x.ms > 95), JSON.stringify(seen.slice(-5)));
    const changed = Date.now();
    await d.client.updateNetwork({
      ref: "live",
      spec: { cidr: "10.60.0.0/24", link_qos: { latency_ms: 5 } },
    });
    await new Promise((r) => setTimeout(r, 2500));
    s.close();
    const fast = seen.find((x) => x.at > changed && x.ms < 20);
    assert.ok(fast, `no fast reply after the change: ${JSON.stringify(seen.slice(-5))}`);
    console.log(`live: RTT below 20 ms ${fast.at - changed} ms after the change`);
    assert.ok(fast.at - changed < 1000, `the RTT dropped ${fast.at - changed} ms after the change`);
    const after = await d.client.getVm("a");
    assert.equal(after.status!.pid, a.status!.pid, "same QEMU");
    assert.equal(after.status!.started_at, a.status!.started_at);
    assert.equal(after.status!.links[0].link_qos!.latency_ms, 5);
    const up = await guestSh(d.client, a, "cut -d. -f1 /proc/uptime");
    assert.ok(Number(up.out.trim()) >= 5, `guest uptime ${up.out}: no reboot`);
  },
);
