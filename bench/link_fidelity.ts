// bench/link_fidelity: how closely the link engine's impairment matches what was asked,
// between two test guests on one network, each figure against a baseline of the same run:
//   latency 20 ms on both links: RTT median and p99 against 40 ms + the unimpaired RTT;
//   normal jitter 10 ms on both: RTT stddev against √2·10 ms;
//   loss 5% on a's link: pings lost against the exact binomial 99% interval;
//   Gilbert-Elliott (p, r) on a's link: mean burst of lost pings against 1/r;
//   rate 10 Mbit/s on a's link: TCP goodput (wget from httpd) as a share of the rate;
//   a flood through 1 Mbit/s with limit 50: the slowest RTT against limit × frame time;
//   a QoS change (loss 100% -> 0%) on the wire: the first delivered frame after the API
//   call returned, from a capture of the link (engine timestamps, host clock).
// Usage: deno run -A bench/link_fidelity.ts [--pings N] [--trials N]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as T from "../src/api/gen/infrasim.v1.ts";
import { TestDaemon } from "../tests/helpers/env.ts";
import { guestSh, median, parsePing, stddev } from "../tests/helpers/guest_shell.ts";
import { bootAll, netVm } from "../tests/helpers/networks.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const pings = Number(opt("pings", "2000"));
const trials = Number(opt("trials", "10"));
const CIDR = "10.79.0.0/24";
const signed = (x: number) => (x >= 0 ? "+" : "") + x.toFixed(2);
const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

/** The central 99% of Binomial(n, p) outcomes, from the exact distribution. */
function binomial99(n: number, p: number): [number, number] {
  let cdf = 0, lo = -1, hi = n;
  let pmf = Math.pow(1 - p, n);
  for (let k = 0; k <= n; k++) {
    cdf += pmf;
    if (lo < 0 && cdf >= 0.005) lo = k;
    if (cdf >= 0.995) {
      hi = k;
      break;
    }
    pmf *= ((n - k) / (k + 1)) * (p / (1 - p));
  }
  return [lo, hi];
}

const d = await TestDaemon.start();
const say = (s: string) => console.log(s);
try {
  await d.client.createNetwork({ meta: { name: "fid" }, spec: { cidr: CIDR } });
  const [a, b] = await bootAll(d, [
    netVm("a", [{ network: "fid", ip: "10.79.0.2" }]),
    netVm("b", [{ network: "fid", ip: "10.79.0.3" }]),
  ]);
  const ipA = "10.79.0.2", ipB = "10.79.0.3";
  const sh = (vm: T.Vm, cmd: string) => guestSh(d.client, vm, cmd, 600_000);
  const ping = async (args: string) => parsePing((await sh(a, `ping ${args} ${ipB}`)).out);
  const setNet = (link_qos: T.LinkQos) =>
    d.client.updateNetwork({ ref: "fid", spec: { cidr: CIDR, link_qos } });
  const setA = (link_qos: T.LinkQos) =>
    d.client.updateVm({
      ref: "a",
      spec: {
        ...a.spec!,
        network_interfaces: [{ ...a.spec!.network_interfaces[0], link_qos }],
      },
    });
  await ping("-c 3 -W 2"); // ARP

  // Delay and jitter, against the unimpaired RTT measured just before.
  const base = (await ping("-c 200 -i 0.05 -W 2")).rtts;
  await setNet({ latency_ms: 20 });
  const delayed = (await ping("-c 200 -i 0.05 -W 2")).rtts;
  say(
    `latency 20 ms on both links: RTT median +${(median(delayed) - median(base)).toFixed(2)} ms ` +
      `(goal 40..41), p99 ${pct(delayed, 0.99).toFixed(2)} ms vs 40 + unimpaired p99 ` +
      `${pct(base, 0.99).toFixed(2)}: ${signed(pct(delayed, 0.99) - pct(base, 0.99) - 40)} ms ` +
      `(goal <= +3)`,
  );
  await setNet({ latency_ms: 40, jitter_ms: 10, delay_distribution: "normal" });
  const jit = (await ping("-c 400 -i 0.05 -W 2")).rtts;
  const sd = stddev(jit);
  say(
    `normal jitter 10 ms on both links: RTT stddev ${sd.toFixed(2)} ms vs √2·10 = 14.14 ` +
      `(${((sd / 14.142 - 1) * 100).toFixed(1)}%, goal within ±15%)`,
  );
  await setNet({});

  // Loss: only a's requests meet it; replies are not impaired.
  await setA({ loss_percent: 5 });
  const lossRun = await ping(`-q -c ${pings} -i 0.005 -W 2`);
  const lost = lossRun.transmitted - lossRun.received;
  const [lo, hi] = binomial99(lossRun.transmitted, 0.05);
  say(
    `loss 5%: ${lost} of ${lossRun.transmitted} lost (${
      (lost / lossRun.transmitted * 100).toFixed(2)
    }%); exact binomial 99% interval ${lo}..${hi}: ${
      lost >= lo && lost <= hi ? "inside" : "OUTSIDE"
    }`,
  );

  // Gilbert-Elliott: bursts of lost sequence numbers, mean length 1/r.
  const r = 25, p = 5;
  await setA({ gemodel_p_percent: p, gemodel_r_percent: r });
  const ge = await sh(a, `ping -c ${2 * pings} -i 0.005 -W 2 ${ipB}`);
  const seen = new Set([...ge.out.matchAll(/seq=(\d+)/g)].map((m) => Number(m[1])));
  const bursts: number[] = [];
  let run = 0;
  for (let s = 0; s < 2 * pings; s++) {
    if (!seen.has(s)) run++;
    else if (run) bursts.push(run), (run = 0);
  }
  const meanBurst = bursts.reduce((x, y) => x + y, 0) / bursts.length;
  say(
    `Gilbert-Elliott p ${p}% r ${r}%: ${bursts.length} bursts, mean length ${
      meanBurst.toFixed(2)
    } vs 1/r = ${(100 / r).toFixed(2)} (${((meanBurst * r / 100 - 1) * 100).toFixed(1)}%, ` +
      `goal within ±10%)`,
  );

  // Rate: TCP goodput of b fetching from a's httpd, the data crossing a's limited link.
  const mb = 8, kbps = 10_000;
  await setA({ rate_kbps: kbps });
  await sh(a, `dd if=/dev/zero of=/www/big bs=1M count=${mb} 2>/dev/null`);
  const goodputs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = (await sh(
      b,
      `a=$(cut -d' ' -f1 /proc/uptime); wget -q -O /dev/null http://${ipA}/big && ` +
        `echo T=$a,$(cut -d' ' -f1 /proc/uptime)`,
    )).out;
    const [t0, t1] = out.match(/T=([\d.]+),([\d.]+)/)!.slice(1).map(Number);
    goodputs.push((mb * 2 ** 20 * 8) / (t1 - t0) / (kbps * 1000));
  }
  say(
    `rate 10 Mbit/s: TCP goodput ${goodputs.map((g) => (g * 100).toFixed(1) + "%").join(" ")} ` +
      `of the rate (goal 90..97%; 1448 of 1514 bytes per frame is 95.6%)`,
  );

  // A flood: 1442-byte pings every 5 ms (2.3 Mbit/s) into 1 Mbit/s with a queue of 50.
  await setA({ rate_kbps: 1000, queue_limit: 50 });
  const flood = await ping("-q -c 400 -i 0.005 -s 1400 -W 3");
  const frameMs = (1442 * 8) / 1000;
  say(
    `flood 1 Mbit/s limit 50: ${flood.received} of ${flood.transmitted} through, slowest RTT ` +
      `${flood.max.toFixed(1)} ms vs limit × frame time ${(50 * frameMs).toFixed(1)} ms ` +
      `(+${(flood.max - 50 * frameMs).toFixed(1)})`,
  );

  // A QoS change on the wire: a pings b every 2 ms while its link drops everything; the
  // first of its requests delivered after loss goes back to 0 is timed against the return.
  const dir = mkdtempSync("/tmp/isb-fid-");
  try {
    const reach: number[] = [];
    await setA({ loss_percent: 100 });
    // Runs past the last trial (about 1.2 s each); the console is busy until it ends.
    const pinger = sh(a, `ping -q -i 0.002 -w ${2 * trials + 5} ${ipB}`);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < trials; i++) {
      const chunks: Uint8Array[] = [];
      const cap = d.client.captureNetwork(
        { ref: "fid", vm: "a", point: "delivered" },
        (c) => (chunks.push(c), true),
      );
      await new Promise((r) => setTimeout(r, 300));
      const called = Date.now();
      await setA({ loss_percent: 0 });
      const returned = Date.now();
      await new Promise((r) => setTimeout(r, 200));
      cap.cancel();
      await cap.done.catch(() => {});
      await setA({ loss_percent: 100 });
      const file = join(dir, `t${i}.pcapng`);
      writeFileSync(file, Buffer.concat(chunks));
      const ts = spawnSync("tshark", [
        "-r",
        file,
        "-Y",
        `icmp.type == 8 && ip.src == ${ipA}`,
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
      ], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map((s) => Number(s) * 1000);
      const first = ts.find((t) => t >= called - 50);
      if (first === undefined) throw new Error(`trial ${i}: nothing delivered after the change`);
      reach.push(first - returned);
      await new Promise((r) => setTimeout(r, 300));
    }
    await pinger;
    say(
      `QoS change (loss 100% -> 0%) on the wire: first delivered frame at ` +
        `${reach.map((x) => x.toFixed(1)).join(" ")} ms after the call returned ` +
        `(median ${median(reach).toFixed(1)}, max ${Math.max(...reach).toFixed(1)}; goal <= 20)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const c = await d.client.getNetworkCounters({ ref: "fid" });
  say(
    `engine: timer lateness p50 ${c.timer_lateness_p50_us} µs, p99 ${c.timer_lateness_p99_us} ` +
      `µs; RSS ${(Number(c.engine_rss_bytes) / 2 ** 20).toFixed(1)} MiB`,
  );
} finally {
  await d.cleanup();
}
process.exit(0);
