// Shared by the network benchmarks: raw QEMU guest pairs wired by one of QEMU's own
// netdevs (the baselines), driven through their serial consoles, and the measurements
// taken the same way on every pair: wget and iperf3 throughput both ways, and ping RTT.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { buildQemuArgs, macAddress } from "../src/qemu/args.ts";
import { normalizeVmSpec } from "../src/api/validate/vm.ts";
import { findQemuBinary } from "../src/qemu/host.ts";
import { type Guest, guestSpec } from "../tests/helpers/env.ts";
import { median, parsePing } from "../tests/helpers/guest_shell.ts";
import { rawPaths, untilMarker } from "./lib.ts";

export const ACCEL = "tcg";

export interface NetOptions {
  rounds: number;
  /** The served file's size: it lives in the guest's RAM. */
  mb: number;
  fetches: number;
  pings: number;
  iperfSeconds: number;
  /** The shell prefix that runs iperf3 in the guest (bench/iperf_guest.ts). */
  iperf: string;
}

/** The options every network benchmark takes, from the command line. */
export function netOptions(argv: string[], iperf: string): NetOptions {
  const opt = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return Number(i >= 0 ? argv[i + 1] : def);
  };
  return {
    rounds: opt("rounds", "3"),
    mb: opt("mb", "64"),
    fetches: opt("fetches", "3"),
    pings: opt("pings", "50"),
    iperfSeconds: opt("iperf-seconds", "5"),
    iperf,
  };
}

export const list = (xs: number[], n: number) => `[${xs.map((x) => x.toFixed(n)).join(" ")}]`;
export const med = (xs: number[], n: number) => median(xs).toFixed(n);

export type Sh = (cmd: string, timeoutMs?: number) => Promise<{ out: string; code: number }>;

/** A raw QEMU guest's serial console (a unix socket), driven like guestSh does. */
class RawConsole {
  private text = "";
  private seq = 0;
  private constructor(private sock: Socket) {
    sock.setEncoding("latin1");
    sock.on("data", (s: string) => (this.text += s));
  }

  static open(path: string): Promise<RawConsole> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawConsole(s)));
      s.once("error", reject);
    });
  }

  sh: Sh = async (cmd, timeoutMs = 120_000) => {
    const tag = `${process.pid % 10000}${++this.seq}`;
    const start = `@@S${tag}\r\n`;
    const end = new RegExp(`@@E${tag} (\\d+)`);
    const from = this.text.length;
    this.sock.write(`echo @@S$((${tag}+0)); ${cmd}\necho @@E$((${tag}+0)) $?\n`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const t = this.text.slice(from);
      const s = t.indexOf(start);
      const m = t.match(end);
      if (s >= 0 && m) {
        return { out: t.slice(s + start.length, m.index).replaceAll("\r", ""), code: Number(m[1]) };
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`raw guest command timed out: ${cmd}\n${this.text.slice(from).slice(-2000)}`);
  };

  close() {
    this.sock.destroy();
  }
}

export interface RawVm {
  sh: Sh;
  stop: () => Promise<void>;
}

/** Port `port` listening on 127.0.0.1 (from /proc/net/tcp; a probe would be accepted). */
export function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8").split("\n").some((l) =>
    new RegExp(`^\\s*\\d+: 0100007F:${hex} 00000000:0000 0A `).test(l)
  );
}

/**
 * Boots a guest with raw QEMU, its second NIC on `-netdev <netdev>` (e.g. "socket,listen=…",
 * "stream,server=on,…" or "dgram,…"), at `ip`/24.
 */
export async function rawVm(g: Guest, ip: string, netdev: string): Promise<RawVm> {
  const dir = mkdtempSync("/tmp/isb-net-");
  const id = randomUUID();
  const mac = macAddress(id, 1);
  const base = guestSpec(g, {
    network: { mode: "user", port_forwards: [] },
    boot: {
      kernel: {
        kernel_path: g.kernel,
        initrd_path: g.initrd,
        cmdline: `${g.cmdline} infrasim.nic=${mac},${ip}/24,1500`,
      },
    },
  });
  const spec = normalizeVmSpec({ ...base, disks: [], accelerator: ACCEL } as never);
  const args = buildQemuArgs({
    id,
    name: `raw-${ip}`,
    spec,
    accelerator: ACCEL,
    ports: [],
    paths: rawPaths(dir),
    supervised: false,
  });
  args.push(
    "-netdev",
    `${netdev},id=sn0`,
    "-device",
    `virtio-net-pci,netdev=sn0,mac=${mac}`,
  );
  const child = spawn(findQemuBinary(g.arch)!, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  let con: RawConsole | undefined;
  const stop = async () => {
    con?.close();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await untilMarker(join(dir, "serial.log"), performance.now(), 120_000);
    con = await RawConsole.open(rawPaths(dir).serialSocket);
  } catch (e) {
    await stop();
    throw new Error(`raw QEMU ${ip}: ${(e as Error).message}\n${stderr}`);
  }
  return { sh: con.sh, stop };
}

export async function must(sh: Sh, cmd: string, timeoutMs?: number): Promise<string> {
  const r = await sh(cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`\`${cmd}\` exited ${r.code}: ${r.out}`);
  return r.out;
}

/** MB/s of `fetches` HTTP fetches of /www/big from srvIp by cli, timed by cli's uptime. */
async function throughput(o: NetOptions, cli: Sh, srvIp: string): Promise<number> {
  const out = await must(
    cli,
    `ok=1; a=$(cut -d' ' -f1 /proc/uptime); for i in $(seq ${o.fetches}); do ` +
      `wget -q -O /dev/null http://${srvIp}/big || { ok=0; break; }; done; ` +
      "[ $ok = 1 ] && echo T=$a,$(cut -d' ' -f1 /proc/uptime)",
    300_000,
  );
  const [a, b] = out.match(/T=([\d.]+),([\d.]+)/)!.slice(1).map(Number);
  return (o.mb * o.fetches) / (b - a);
}

/** Mbit/s of one iperf3 run from cli to srvIp's server (reverse: the server sends). */
async function iperf(o: NetOptions, cli: Sh, srvIp: string, reverse: boolean): Promise<number> {
  const out = await must(
    cli,
    `${o.iperf} -c ${srvIp} -t ${o.iperfSeconds} -f m${reverse ? " -R" : ""} 2>&1 | grep receiver`,
    (o.iperfSeconds + 60) * 1000,
  );
  return Number(out.match(/([\d.]+) Mbits\/sec\s+receiver/)![1]);
}

/** The median RTT (ms) of `pings` pings from one guest to an address. */
async function rtt(o: NetOptions, from: Sh, ip: string): Promise<number> {
  const r = parsePing(await must(from, `ping -c ${o.pings} -i 0.1 -W 2 ${ip}`, 60_000));
  if (r.received < o.pings) throw new Error(`ping ${ip}: ${r.received}/${o.pings} replies`);
  return median(r.rtts);
}

export interface Setup {
  a: Sh;
  b: Sh;
  ipA: string;
  ipB: string;
}
export type Figures = Record<"ab" | "ba" | "rtt" | "iab" | "iba", number[]>;
export const figures = (): Figures => ({ ab: [], ba: [], rtt: [], iab: [], iba: [] });

export async function prepare(o: NetOptions, s: Setup): Promise<void> {
  for (const [sh, peer] of [[s.a, s.ipB], [s.b, s.ipA]] as const) {
    await must(sh, `dd if=/dev/zero of=/www/big bs=1M count=${o.mb} 2>/dev/null`);
    await must(sh, `ping -c 3 -W 2 ${peer}`); // ARP, and the path works
  }
  await must(s.a, `${o.iperf} -s -D`);
}

export async function round(o: NetOptions, s: Setup, f: Figures): Promise<void> {
  f.ab.push(await throughput(o, s.b, s.ipA)); // A serves: data flows A -> B
  f.ba.push(await throughput(o, s.a, s.ipB));
  f.rtt.push(await rtt(o, s.a, s.ipB));
  f.iab.push(await iperf(o, s.b, s.ipA, true));
  f.iba.push(await iperf(o, s.b, s.ipA, false));
}
