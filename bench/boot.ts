// bench/boot: API create+start until the guest's ready marker, against raw QEMU
// started with the same arguments (from the same args builder) in the same run.
// Usage: deno task bench [--arch x86_64|aarch64] [--rounds N]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { buildQemuArgs } from "../src/qemu/args.ts";
import { normalizeSpec } from "../src/api/validate.ts";
import { findQemuBinary } from "../src/qemu/host.ts";
import { guest, guestSpec, READY, TestDaemon } from "../tests/helpers/env.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const arch = opt("arch", "x86_64") as "x86_64" | "aarch64";
const rounds = Number(opt("rounds", "5"));

async function untilMarker(log: string, t0: number, timeoutMs = 120_000): Promise<number> {
  while (performance.now() - t0 < timeoutMs) {
    if (existsSync(log) && readFileSync(log, "latin1").includes(READY)) {
      return performance.now() - t0;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${READY} in ${log}`);
}

const g = guest(arch);
const spec = normalizeSpec({ ...guestSpec(g), disks: [], accelerator: "" } as never);
const binary = findQemuBinary(arch)!;

async function rawQemu(): Promise<number> {
  const dir = mkdtempSync("/tmp/isb-raw-");
  const id = randomUUID();
  const args = buildQemuArgs({
    id,
    name: "raw",
    spec,
    accelerator: "tcg",
    ports: [{ protocol: "tcp", host_port: 29990, guest_port: 80 }],
    paths: {
      qmpSocket: join(dir, "qmp.sock"),
      serialSocket: join(dir, "serial.sock"),
      serialLog: join(dir, "serial.log"),
      pidFile: join(dir, "qemu.pid"),
      firmwareVars: join(dir, "vars.fd"),
    },
    supervised: false,
  });
  const t0 = performance.now();
  const child = spawn(binary, args, { stdio: "ignore" });
  try {
    return await untilMarker(join(dir, "serial.log"), t0);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function viaApi(d: TestDaemon, i: number): Promise<number> {
  const t0 = performance.now();
  const vm = await d.client.createVm({ meta: { name: `bench-${i}` }, spec: guestSpec(g) });
  try {
    return await untilMarker(vm.status!.serial_log_path, t0);
  } finally {
    await d.client.deleteVm(vm.meta!.id);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const d = await TestDaemon.start();
const raw: number[] = [];
const api: number[] = [];
try {
  await rawQemu(); // warm the page cache
  for (let i = 0; i < rounds; i++) {
    raw.push(await rawQemu());
    api.push(await viaApi(d, i));
  }
} finally {
  await d.cleanup();
}
const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(" ");
console.log(`boot to ${READY}, ${arch} under TCG, ${rounds} rounds (s): raw qemu [${fmt(raw)}]`);
console.log(`                                            infrasimd API [${fmt(api)}]`);
console.log(
  `median raw ${(median(raw) / 1000).toFixed(3)} s, api ${
    (median(api) / 1000).toFixed(3)
  } s, ratio api/raw = ${(median(api) / median(raw)).toFixed(3)} (goal <= 1.05)`,
);
process.exit(0);
