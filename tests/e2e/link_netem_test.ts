// netem's semantics on the link engine, measured between real guests: a fixed delay adds
// what it says and no more, normal jitter has σ = jitter (not wirefilter's 3σ), and the
// netem options are validated with the field (API) or the flag (CLI) named.
import assert from "node:assert/strict";
import { e2eTest } from "../helpers/env.ts";
import { guestSh, median, parsePing, stddev } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";
import { ApiError } from "../../src/api/errors.ts";

const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

e2eTest(
  "fidelity: latency 20 ms adds 40 ms to the RTT; normal jitter 10 ms spreads it by √2·10; " +
    "a flood through 1 Mbit/s with limit 50 drops at the queue and RTT stays bounded",
  async (d) => {
    await d.client.createNetwork({ meta: { name: "fid" }, spec: { cidr: "10.32.0.0/24" } });
    const [a, b] = await bootAll(d, [
      netVm("a", [{ network: "fid" }]),
      netVm("b", [{ network: "fid" }]),
    ]);
    const ip = b.status!.links[0].ip;
    const pings = async (n: number) => {
      const r = parsePing((await guestSh(d.client, a, `ping -c ${n} -i 0.1 -W 2 ${ip}`)).out);
      assert.equal(r.received, n);
      return r.rtts;
    };
    await pings(3); // ARP
    const base = await pings(100);
    await d.client.updateNetwork({
      ref: "fid",
      spec: { cidr: "10.32.0.0/24", link_qos: { latency_ms: 20 } },
    });
    const delayed = await pings(100);
    // A fixed delay shifts every quantile alike, while a busy host only ever adds: the
    // 10th percentiles compare it where load shows least (CI runs saw the medians move
    // +2.4 ms with the unimpaired p95 at 11.5 ms, from other work on the host).
    const added = pct(delayed, 0.1) - pct(base, 0.1);
    console.log(
      `latency 20: unimpaired p10 ${pct(base, 0.1).toFixed(2)} ms, median ${
        median(base).toFixed(2)
      } ms; impaired p10 ${pct(delayed, 0.1).toFixed(2)} ms, median ${
        median(delayed).toFixed(2)
      } ms (+${added.toFixed(2)} at p10), p95 ${pct(base, 0.95).toFixed(2)} -> ${
        pct(delayed, 0.95).toFixed(2)
      } ms, p99 ${pct(base, 0.99).toFixed(2)} -> ${pct(delayed, 0.99).toFixed(2)} ms`,
    );
    // Bounds a shared 2-core machine meets: the tails move with scheduling (two TCG
    // guests and the engine share the cores, so a timer's wake-up can wait; runs here saw
    // the p95 up to 7.8 ms over 40 + the unimpaired p95), not with the engine's own
    // lateness (near 1 ms when it has a core); bench/link_fidelity measures that closely.
    assert.ok(
      added >= 39.5 && added <= 42,
      `the delay added ${added} ms to the 10th percentile RTT (40, at most 2 more)`,
    );
    assert.ok(
      pct(delayed, 0.95) <= 40 + pct(base, 0.95) + 15,
      "p95 within 15 ms of 40 + the unimpaired p95",
    );

    await d.client.updateNetwork({
      ref: "fid",
      spec: {
        cidr: "10.32.0.0/24",
        link_qos: { latency_ms: 40, jitter_ms: 10, delay_distribution: "normal" },
      },
    });
    const jittered = await pings(200);
    const sd = stddev(jittered);
    console.log(`normal jitter 10 on both links: RTT stddev ${sd.toFixed(2)} ms (√2·10 = 14.14)`);
    assert.ok(Math.abs(sd - 14.14) / 14.14 <= 0.15, `RTT stddev ${sd} ms, not within 15% of 14.14`);
    // The median of 200 draws with σ 14.14 has a standard error of about 1.25 ms; 4 ms is
    // over 3 of them, with the unimpaired RTT's drift under TCG on top.
    assert.ok(Math.abs(median(jittered) - median(base) - 80) < 4, `median ${median(jittered)}`);
    assert.equal(
      (await d.client.getVm("a")).status!.links[0].link_qos!.delay_distribution,
      "normal",
    );

    // What b receives, on its own: 15 ms there adds 15 ms to a's RTT (only the request
    // reaches b), live, and b's status shows it.
    await d.client.updateNetwork({ ref: "fid", spec: { cidr: "10.32.0.0/24", link_qos: {} } });
    // A baseline of its own: the unimpaired RTT under TCG drifts by about half a ms. A fixed
    // delay shifts every quantile alike, while a busy host only ever adds: the 10th
    // percentiles compare it where load shows least (a CI run saw the medians 4 ms apart).
    const clean = await pings(50);
    const rx = d.cli(["network", "qos", "fid", "--vm", "b", "--receive", "--latency", "15ms"]);
    assert.equal(rx.code, 0, rx.stderr);
    const received = await pings(50);
    const rxAdded = pct(received, 0.1) - pct(clean, 0.1);
    console.log(
      `receive latency 15 on b: +${rxAdded.toFixed(2)} ms on the 10th percentile RTT; clean ` +
        `${[0.05, 0.5, 0.95].map((q) => pct(clean, q).toFixed(2))}, received ` +
        `${[0.05, 0.5, 0.95].map((q) => pct(received, q).toFixed(2))}`,
    );
    assert.ok(rxAdded >= 14.5 && rxAdded <= 16.5, `b's receive delay added ${rxAdded} ms`);
    assert.match(d.cli(["vm", "get", "b"]).stdout, /Link 0: .* up, -; receives latency 15ms/);
    const sendOnly = d.cli(["network", "qos", "fid", "--receive", "--latency", "1ms"]);
    assert.equal(sendOnly.code, 2);
    assert.match(sendOnly.stderr, /--receive: needs --vm/);

    // A flood through 1 Mbit/s with a queue of 50: 1442-byte pings every 5 ms offer 2.3
    // Mbit/s, so the queue fills and drops at its tail, counted; no frame waits longer
    // than the 50 ahead of it take to leave (netem's bound, no bufferbloat).
    assert.equal(d.cli(["network", "qos", "fid", "--vm", "b", "--receive", "--reset"]).code, 0);
    const rl = d.cli(["network", "qos", "fid", "--vm", "a", "--rate", "1mbit", "--limit", "50"]);
    assert.equal(rl.code, 0, rl.stderr);
    const sentOf = async () =>
      (await d.client.getNetworkCounters({ ref: "fid" })).links.find((l) => l.vm_name === "a")!
        .sent!;
    const before = await sentOf();
    let deepest = 0, polling = true;
    const poll = (async () => {
      while (polling) {
        deepest = Math.max(deepest, (await sentOf()).queue_depth);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const flood = parsePing(
      (await guestSh(d.client, a, `ping -q -c 400 -i 0.005 -s 1400 -W 3 ${ip}`)).out,
    );
    polling = false;
    await poll;
    const after = await sentOf();
    const frameMs = (1442 * 8) / 1000; // at 1 Mbit/s
    const bound = 51 * frameMs + 30; // 50 ahead, its own, and the unimpaired RTT
    const queueDrops = after.dropped_queue - before.dropped_queue;
    console.log(
      `flood 1 Mbit/s limit 50: ${flood.received} of ${flood.transmitted} through, ` +
        `${queueDrops} queue drops, deepest queue seen ${deepest}, RTT max ${flood.max} ms ` +
        `(bound ${bound.toFixed(0)})`,
    );
    assert.ok(queueDrops > 100, `${queueDrops} queue drops`);
    // Every queue drop is a ping lost, give or take the odd ARP frame the guest sends into
    // the full queue meanwhile (a CI run saw 157 drops for 156 pings lost).
    const lost = flood.transmitted - flood.received;
    assert.ok(queueDrops <= lost + 3, `${queueDrops} queue drops, ${lost} pings lost`);
    assert.ok(deepest <= 50 && deepest >= 40, `deepest queue ${deepest}`);
    assert.ok(flood.max <= bound, `RTT max ${flood.max} ms over ${bound} ms`);
    assert.ok(flood.max >= 40 * frameMs, `RTT max ${flood.max} ms: the queue never filled`);
  },
);

e2eTest(
  "netem options: bad values are refused with each field or flag named, nothing changes",
  async (d) => {
    const err = await d.client.createNetwork({
      meta: { name: "bad" },
      spec: {
        cidr: "10.33.0.0/24",
        link_qos: {
          reorder_percent: 5,
          gemodel_r_percent: 10,
          delay_distribution: "gauss",
          queue_limit: -1,
        },
      },
    }).catch((e) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.deepEqual(err.violations.map((v) => v.field).sort(), [
      "spec.link_qos.delay_distribution",
      "spec.link_qos.gemodel_p_percent",
      "spec.link_qos.queue_limit",
      "spec.link_qos.reorder_percent",
    ]);
    assert.deepEqual((await d.client.listNetworks({ label_selector: "" })).networks, []);

    // An interface's reorder may use the network's delay; without any, its field is named.
    await d.client.createNetwork({ meta: { name: "plain" }, spec: { cidr: "10.34.0.0/24" } });
    const vmErr = await d.client.createVm(
      netVm("v", [{ network: "plain", link_qos: { reorder_percent: 5 } }]),
    )
      .catch((e) => e);
    assert.ok(vmErr instanceof ApiError);
    assert.match(
      vmErr.message,
      /spec\.network_interfaces\[0\]\.link_qos\.reorder_percent: needs a delay/,
    );
    assert.deepEqual((await d.client.listVms({ label_selector: "" })).vms, []);

    // The CLI names its flags, all of them, and exits 2 before calling the daemon.
    const cli = d.cli([
      "network",
      "qos",
      "plain",
      "--distribution",
      "gauss",
      "--gemodel-r",
      "5%",
      "--limit",
      "-3",
    ]);
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(
      cli.stderr,
      /--distribution: must be one of uniform, normal, pareto, paretonormal/,
    );
    assert.match(cli.stderr, /--gemodel-p: is required/);
    assert.match(cli.stderr, /--limit: must be a whole number between 0 and 1000000/);
    const net = await d.client.getNetwork("plain");
    assert.deepEqual(net.spec!.link_qos, {}, "nothing changed");
  },
);
