// bench/network: TCP throughput and ping RTT between two test guests over an InfraSim
// network (no QoS: QEMU's stream socket, the network's link engine, the other stream socket),
// against the same two guests wired by QEMU's own `-netdev socket` in the same run.
// Throughput is busybox wget fetching a file from busybox httpd (sendfile) `--fetches` times
// in a row: busybox nc copies in small chunks and is bound by the guest's CPU, not the path.
// Usage: deno run -A bench/network.ts [--rounds N] [--mb MB] [--fetches N] [--pings N]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { buildQemuArgs, macAddress } from "../src/qemu/args.ts";
import { normalizeVmSpec } from "../src/api/validate/vm.ts";
import { findQemuBinary } from "../src/qemu/host.ts";
import { freePort, guest, guestSpec, TestDaemon } from "../tests/helpers/env.ts";
import { guestSh, median, parsePing } from "../tests/helpers/guest_shell.ts";
import { bootAll, netVm } from "../tests/helpers/networks.ts";
import { rawPaths, untilMarker } from "./lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const rounds = Number(opt("rounds", "3"));
const mb = Number(opt("mb", "64")); // the file's size: it lives in the guest's RAM
const fetches = Number(opt("fetches", "3"));
const pings = Number(opt("pings", "50"));

const g = guest("x86_64");
const ACCEL = "tcg";
type Sh = (cmd: string, timeoutMs?: number) => Promise<{ out: string; code: number }>;

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

interface RawVm {
  sh: Sh;
  stop: () => Promise<void>;
}

/** Port `port` listening on 127.0.0.1 (from /proc/net/tcp; a probe would be accepted). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8").split("\n").some((l) =>
    new RegExp(`^\\s*\\d+: 0100007F:${hex} 00000000:0000 0A `).test(l)
  );
}

/** Boots a guest with raw QEMU, its second NIC on `-netdev socket` (listen= or connect=). */
async function rawVm(ip: string, socketOpt: string): Promise<RawVm> {
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
    `socket,id=sn0,${socketOpt}`,
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

async function must(sh: Sh, cmd: string, timeoutMs?: number): Promise<string> {
  const r = await sh(cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`\`${cmd}\` exited ${r.code}: ${r.out}`);
  return r.out;
}

/** MB/s of `fetches` HTTP fetches of /www/big from srvIp by cli, timed by cli's uptime. */
async function throughput(cli: Sh, srvIp: string): Promise<number> {
  const out = await must(
    cli,
    `ok=1; a=$(cut -d' ' -f1 /proc/uptime); for i in $(seq ${fetches}); do ` +
      `wget -q -O /dev/null http://${srvIp}/big || { ok=0; break; }; done; ` +
      "[ $ok = 1 ] && echo T=$a,$(cut -d' ' -f1 /proc/uptime)",
    300_000,
  );
  const [a, b] = out.match(/T=([\d.]+),([\d.]+)/)!.slice(1).map(Number);
  return (mb * fetches) / (b - a);
}

/** The median RTT (ms) of `pings` pings from one guest to an address. */
async function rtt(from: Sh, ip: string): Promise<number> {
  const r = parsePing(await must(from, `ping -c ${pings} -i 0.1 -W 2 ${ip}`, 60_000));
  if (r.received < pings) throw new Error(`ping ${ip}: ${r.received}/${pings} replies`);
  return median(r.rtts);
}

interface Setup {
  a: Sh;
  b: Sh;
  ipA: string;
  ipB: string;
}
type Figures = Record<"ab" | "ba" | "rtt", number[]>;
const figures = (): Figures => ({ ab: [], ba: [], rtt: [] });

async function prepare(s: Setup): Promise<void> {
  for (const [sh, peer] of [[s.a, s.ipB], [s.b, s.ipA]] as const) {
    await must(sh, `dd if=/dev/zero of=/www/big bs=1M count=${mb} 2>/dev/null`);
    await must(sh, `ping -c 3 -W 2 ${peer}`); // ARP, and the path works
  }
}

async function round(s: Setup, f: Figures): Promise<void> {
  f.ab.push(await throughput(s.b, s.ipA)); // A serves: data flows A -> B
  f.ba.push(await throughput(s.a, s.ipB));
  f.rtt.push(await rtt(s.a, s.ipB));
}

const raws: RawVm[] = [];
let d: TestDaemon | undefined;
const raw = figures(), sim = figures(), captured = figures();
const capturedBytes: number[] = [];
try {
  // Baseline: A listens, B connects once A's QEMU is up (and so listening).
  const port = await freePort();
  raws.push(await rawVm("10.77.0.2", `listen=127.0.0.1:${port}`));
  if (!listening(port)) throw new Error(`raw QEMU is not listening on ${port}`);
  raws.push(await rawVm("10.77.0.3", `connect=127.0.0.1:${port}`));
  const base: Setup = { a: raws[0].sh, b: raws[1].sh, ipA: "10.77.0.2", ipB: "10.77.0.3" };

  const dm = d = await TestDaemon.start();
  await dm.client.createNetwork({ meta: { name: "bench" }, spec: { cidr: "10.78.0.0/24" } });
  const reqs = ["10.78.0.2", "10.78.0.3"].map((ip, i) =>
    netVm(`vm${i}`, [{ network: "bench", ip }])
  )
    .map((r) => ({ ...r, spec: { ...r.spec, accelerator: ACCEL } }));
  const [va, vb] = await bootAll(dm, reqs);
  const shOf = (vm: typeof va): Sh => (cmd, t) => guestSh(dm.client, vm, cmd, t ?? 300_000);
  const net: Setup = { a: shOf(va), b: shOf(vb), ipA: "10.78.0.2", ipB: "10.78.0.3" };

  await prepare(base);
  await prepare(net);
  for (const s of [base, net]) await round(s, figures()); // warm-up, not counted
  for (let i = 0; i < rounds; i++) {
    await round(base, raw);
    await round(net, sim);
    // The same with one link captured at both points (every frame twice) to a reader.
    let bytes = 0;
    const cap = dm.client.captureNetwork(
      { ref: "bench", vm: "vm0" },
      (c) => ((bytes += c.length), true),
    );
    await round(net, captured);
    cap.cancel();
    await cap.done;
    capturedBytes.push(bytes);
  }
} finally {
  for (const r of raws) await r.stop();
  await d?.cleanup();
}

const list = (xs: number[], n: number) => `[${xs.map((x) => x.toFixed(n)).join(" ")}]`;
const m = (xs: number[], n: number) => median(xs).toFixed(n);
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
    `  ${label}: A->B ${list(f.ab, 2)} MB/s, B->A ${list(f.ba, 2)} MB/s, RTT ${list(f.rtt, 3)} ms`,
  );
}
for (const [k, dir] of [["ab", "A->B"], ["ba", "B->A"]] as const) {
  console.log(
    `median ${dir} raw ${m(raw[k], 2)} MB/s, infrasim ${m(sim[k], 2)} MB/s, ratio ` +
      `infrasim/raw = ${(median(sim[k]) / median(raw[k])).toFixed(3)} (goal >= 0.8)`,
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
    `${(median(sim.rtt) - median(raw.rtt)).toFixed(3)} ms (goal <= 0.5)`,
);
process.exit(0);
