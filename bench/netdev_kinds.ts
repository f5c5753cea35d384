// bench/netdev_kinds: which of QEMU's own netdevs carries guest traffic best between two
// raw guests, with nothing in between: `-netdev socket` (TCP, bench/network.ts's
// baseline), `-netdev stream` over a unix socket (what InfraSim's NICs use, the engine
// being the other end) and `-netdev dgram` over unix datagram sockets (one datagram per
// frame). It bounds what a switch to dgram could gain before the link engine is involved.
// Usage: deno run -A bench/netdev_kinds.ts [--rounds N] [--mb MB] [--fetches N] [--pings N]
//        [--iperf-seconds S]
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, guest } from "../tests/helpers/env.ts";
import { iperfCommand, withIperf } from "./iperf_guest.ts";
import {
  ACCEL,
  type Figures,
  figures,
  list,
  med,
  netOptions,
  prepare,
  type RawVm,
  rawVm,
  round,
} from "./net_lib.ts";

const tmp = mkdtempSync("/tmp/isb-kinds-");
const g = withIperf(guest("x86_64"), tmp);
const argv = process.argv.slice(2);
const o = netOptions(
  argv.includes("--rounds") ? argv : [...argv, "--rounds", "2"],
  iperfCommand(g.arch),
);

/** The two netdev strings of a pair: A's, then B's (B starts once A is up). */
const KINDS: Record<string, () => Promise<[string, string]>> = {
  socket: async () => {
    const port = await freePort();
    return [`socket,listen=127.0.0.1:${port}`, `socket,connect=127.0.0.1:${port}`];
  },
  stream: () => {
    const path = join(tmp, "stream.sock");
    return Promise.resolve([
      `stream,server=on,addr.type=unix,addr.path=${path}`,
      `stream,server=off,addr.type=unix,addr.path=${path}`,
    ]);
  },
  dgram: () => {
    const [pa, pb] = [join(tmp, "a.dgram"), join(tmp, "b.dgram")];
    const dg = (l: string, r: string) =>
      `dgram,local.type=unix,local.path=${l},remote.type=unix,remote.path=${r}`;
    return Promise.resolve([dg(pa, pb), dg(pb, pa)]);
  },
};

const results: Record<string, Figures> = {};
try {
  for (const [kind, wiring] of Object.entries(KINDS)) {
    const [na, nb] = await wiring();
    const pair: RawVm[] = [];
    try {
      pair.push(await rawVm(g, "10.76.0.2", na));
      pair.push(await rawVm(g, "10.76.0.3", nb));
      const s = { a: pair[0].sh, b: pair[1].sh, ipA: "10.76.0.2", ipB: "10.76.0.3" };
      await prepare(o, s);
      await round(o, s, figures()); // warm-up, not counted
      const f = results[kind] = figures();
      for (let i = 0; i < o.rounds; i++) await round(o, s, f);
    } finally {
      for (const v of pair) await v.stop();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(
  `raw guest pairs under ${ACCEL}, ${o.rounds} rounds; wget ${o.fetches} x ${o.mb} MB, ` +
    `iperf3 ${o.iperfSeconds} s, RTT median of ${o.pings} pings`,
);
for (const [kind, f] of Object.entries(results)) {
  console.log(
    `  ${kind.padEnd(6)}: wget A->B ${list(f.ab, 2)} B->A ${list(f.ba, 2)} MB/s; iperf3 A->B ` +
      `${list(f.iab, 0)} B->A ${list(f.iba, 0)} Mbit/s; RTT ${list(f.rtt, 3)} ms`,
  );
}
const base = results.socket;
for (const kind of ["stream", "dgram"]) {
  const f = results[kind];
  const r = (k: keyof Figures) => (Number(med(f[k], 6)) / Number(med(base[k], 6))).toFixed(3);
  console.log(
    `${kind} / socket: wget ${r("ab")} ${r("ba")}, iperf3 ${r("iab")} ${r("iba")}, ` +
      `RTT ${med(f.rtt, 3)} vs ${med(base.rtt, 3)} ms`,
  );
}
process.exit(0);
