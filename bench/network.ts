// bench/network: TCP throughput and ping RTT between two test guests over an InfraSim
// network (no QoS: QEMU's stream socket, the network's link engine, the other stream socket),
// against the same two guests wired by QEMU's own `-netdev socket` in the same run.
// Throughput is busybox wget fetching a file from busybox httpd (sendfile) `--fetches` times
// in a row (busybox nc copies in small chunks and is bound by the guest's CPU, not the path),
// and iperf3 from Debian's package (bench/iperf_guest.ts), `--iperf-seconds` each way.
// Usage: deno run -A bench/network.ts [--rounds N] [--mb MB] [--fetches N] [--pings N]
//        [--iperf-seconds S]
import { mkdtempSync, rmSync } from "node:fs";
import { freePort, guest, TestDaemon } from "../tests/helpers/env.ts";
import { guestSh, median } from "../tests/helpers/guest_shell.ts";
import { bootAll, netVm } from "../tests/helpers/networks.ts";
import { iperfCommand, withIperf } from "./iperf_guest.ts";
import {
  ACCEL,
  figures,
  list,
  listening,
  med as m,
  netOptions,
  prepare,
  type RawVm,
  rawVm,
  round,
  type Setup,
  type Sh,
} from "./net_lib.ts";

const initrdDir = mkdtempSync("/tmp/isb-initrd-");
const g = withIperf(guest("x86_64"), initrdDir);
const o = netOptions(process.argv.slice(2), iperfCommand(g.arch));
const { rounds, mb, fetches, pings } = o;

const raws: RawVm[] = [];
let d: TestDaemon | undefined;
const raw = figures(), sim = figures(), captured = figures();
const capturedBytes: number[] = [];
try {
  // Baseline: A listens, B connects once A's QEMU is up (and so listening).
  const port = await freePort();
  raws.push(await rawVm(g, "10.77.0.2", `socket,listen=127.0.0.1:${port}`));
  if (!listening(port)) throw new Error(`raw QEMU is not listening on ${port}`);
  raws.push(await rawVm(g, "10.77.0.3", `socket,connect=127.0.0.1:${port}`));
  const base: Setup = { a: raws[0].sh, b: raws[1].sh, ipA: "10.77.0.2", ipB: "10.77.0.3" };

  const dm = d = await TestDaemon.start();
  await dm.client.createNetwork({ meta: { name: "bench" }, spec: { cidr: "10.78.0.0/24" } });
  const reqs = ["10.78.0.2", "10.78.0.3"].map((ip, i) =>
    netVm(`vm${i}`, [{ network: "bench", ip }])
  )
    .map((r) => ({
      ...r,
      spec: {
        ...r.spec,
        accelerator: ACCEL,
        boot: { kernel: { ...r.spec.boot!.kernel!, initrd_path: g.initrd } },
      },
    }));
  const [va, vb] = await bootAll(dm, reqs);
  const shOf = (vm: typeof va): Sh => (cmd, t) => guestSh(dm.client, vm, cmd, t ?? 300_000);
  const net: Setup = { a: shOf(va), b: shOf(vb), ipA: "10.78.0.2", ipB: "10.78.0.3" };

  await prepare(o, base);
  await prepare(o, net);
  for (const s of [base, net]) await round(o, s, figures()); // warm-up, not counted
  for (let i = 0; i < rounds; i++) {
    await round(o, base, raw);
    await round(o, net, sim);
    // The same with one link captured at both points (every frame twice) to a reader.
    let bytes = 0;
    const cap = dm.client.captureNetwork(
      { ref: "bench", vm: "vm0" },
      (c) => ((bytes += c.length), true),
    );
    await round(o, net, captured);
    cap.cancel();
    await cap.done;
    capturedBytes.push(bytes);
  }
} finally {
  for (const r of raws) await r.stop();
  await d?.cleanup();
  rmSync(initrdDir, { recursive: true, force: true });
}

console.log(
  `VM-to-VM under ${ACCEL}, 1 vCPU / 256 MiB each, ${rounds} rounds; throughput: ` +
    `${fetches} x ${mb} MB by wget from httpd; RTT: median of ${pings} pings`,
);
for (
  const [label, f] of [
    ["raw -netdev socket", raw],
    ["infrasim network  ", sim],
    ["capture on        ", captured],
  ] as const
) {
  console.log(
    `  ${label}: A->B ${list(f.ab, 2)} MB/s, B->A ${list(f.ba, 2)} MB/s, RTT ${list(f.rtt, 3)} ms` +
      `; iperf3 A->B ${list(f.iab, 0)} B->A ${list(f.iba, 0)} Mbit/s`,
  );
}
for (const [k, dir] of [["ab", "A->B"], ["ba", "B->A"]] as const) {
  console.log(
    `median ${dir} raw ${m(raw[k], 2)} MB/s, infrasim ${m(sim[k], 2)} MB/s, ratio ` +
      `infrasim/raw = ${(median(sim[k]) / median(raw[k])).toFixed(3)} (goal >= 0.8)`,
  );
}
for (const [k, dir] of [["iab", "A->B"], ["iba", "B->A"]] as const) {
  console.log(
    `iperf3 median ${dir} raw ${m(raw[k], 0)} Mbit/s, infrasim ${m(sim[k], 0)} Mbit/s, ratio ` +
      `${(median(sim[k]) / median(raw[k])).toFixed(3)}; capture on ${m(captured[k], 0)} Mbit/s, ` +
      `ratio ${(median(captured[k]) / median(raw[k])).toFixed(3)}`,
  );
}
for (const [k, dir] of [["ab", "A->B"], ["ba", "B->A"]] as const) {
  console.log(
    `capture on: median ${dir} ${m(captured[k], 2)} MB/s, ratio to raw = ` +
      `${(median(captured[k]) / median(raw[k])).toFixed(3)} (goal >= 0.72); ` +
      `${(median(capturedBytes) / 2 ** 20).toFixed(0)} MiB of pcapng per round`,
  );
}
console.log(
  `median RTT raw ${m(raw.rtt, 3)} ms, infrasim ${m(sim.rtt, 3)} ms, added by the network = ` +
    `${(median(sim.rtt) - median(raw.rtt)).toFixed(3)} ms (goal <= 0.2)`,
);
process.exit(0);
