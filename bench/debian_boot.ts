// bench/debian_boot: a Debian 12 cloud image from QEMU's start to sshd's banner, raw QEMU
// (the same command line from the same builder, the same overlay kind and seed) against
// infrasimd (CreateVm, then WaitVm for guest port 22), in the same run (goal <= 1.05).
// Usage: deno run -A bench/debian_boot.ts [--rounds N]
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { debianImage, freePort, TestDaemon } from "../tests/helpers/env.ts";
import { buildQemuArgs } from "../src/qemu/args.ts";
import { createArgs } from "../src/qemu/img.ts";
import { findFirmware, findQemuBinary } from "../src/qemu/host.ts";
import { normalizeVmSpec } from "../src/api/validate/vm.ts";
import { seedFiles } from "../src/cloudinit/seed.ts";
import { writeSeed } from "../src/cloudinit/iso.ts";
import { ensureKeyPair } from "../src/ssh/keys.ts";
import { probePort } from "../src/daemon/controllers/vm/wait.ts";
import { median, rawPaths } from "./lib.ts";

const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] || 2);
const IMAGE = debianImage();
const MEMORY = 1024;

async function untilBanner(port: number, t0: number, timeoutMs = 600_000): Promise<number> {
  while (performance.now() - t0 < timeoutMs) {
    if (await probePort(port, true)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("no SSH banner");
}

async function raw(): Promise<number> {
  const dir = mkdtempSync("/tmp/isb-deb-");
  const id = randomUUID();
  const overlay = join(dir, "root.qcow2");
  execFileSync("qemu-img", createArgs(overlay, 4 * 1024 ** 3, { path: IMAGE, format: "qcow2" }));
  const spec = normalizeVmSpec({
    arch: "x86_64",
    memory_mb: MEMORY,
    boot: { volume: { volume: "root", firmware_path: "" } },
    network: { mode: "user", port_forwards: [{ protocol: "tcp", host_port: 0, guest_port: 22 }] },
    cloud_init: {
      user_data: "",
      meta_data: "",
      network_config: "",
      hostname: "",
      ssh_authorized_keys: [],
      user: "",
    },
  } as never);
  const key = await ensureKeyPair(join(dir, "host_key"), "bench");
  const seed = join(dir, "cidata.iso");
  await writeSeed(
    seedFiles({
      vmId: id,
      vmName: "raw",
      cloudInit: spec.cloud_init!,
      hostKey: key,
      authorizedKeys: [key.publicKey],
    }),
    seed,
  );
  const fw = findFirmware("x86_64")!;
  copyFileSync(fw.vars, join(dir, "vars.fd"));
  const port = await freePort();
  const args = buildQemuArgs({
    id,
    name: "raw",
    spec,
    accelerator: "tcg",
    ports: [{ protocol: "tcp", host_port: port, guest_port: 22 }],
    paths: rawPaths(dir),
    firmwareCode: fw.code,
    supervised: false,
    volumes: [{ id: "root", path: overlay, readOnly: false, boot: true }],
    seed,
  });
  const t0 = performance.now();
  const child = spawn(findQemuBinary("x86_64")!, args, { stdio: "ignore" });
  try {
    return await untilBanner(port, t0);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function api(d: TestDaemon, i: number): Promise<number> {
  await d.client.createVolume({
    meta: { name: `root-${i}` },
    spec: { image: "debian", size_gb: 4 },
  });
  const t0 = performance.now();
  const vm = await d.client.createVm({
    meta: { name: `deb-${i}` },
    spec: {
      arch: "x86_64",
      memory_mb: MEMORY,
      boot: { volume: { volume: `root-${i}` } },
      network: { mode: "user", port_forwards: [{ guest_port: 22 }] },
      cloud_init: {},
      wait_for: { guest_port: 22 },
      power_state: "POWER_ON",
    },
  });
  await d.client.waitVm({ ref: vm.meta!.id, timeout_seconds: 600 }, { timeoutSeconds: 620 });
  const ms = performance.now() - t0;
  await d.client.deleteVm({ ref: vm.meta!.id, force: true });
  return ms;
}

const d = await TestDaemon.start();
const r: number[] = [];
const a: number[] = [];
try {
  await d.client.importImage({ meta: { name: "debian" }, spec: { source: IMAGE } }).done;
  for (let i = 0; i < rounds; i++) {
    r.push(await raw());
    a.push(await api(d, i));
  }
} finally {
  await d.cleanup();
}
const s = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(" ");
console.log(
  `debian 12 to the SSH banner under TCG, ${rounds} rounds (s): raw qemu [${s(r)}], api [${s(a)}]`,
);
console.log(
  `median raw ${(median(r) / 1000).toFixed(1)} s, api ${(median(a) / 1000).toFixed(1)} s, ` +
    `ratio api/raw = ${(median(a) / median(r)).toFixed(3)} (goal <= 1.05)`,
);
process.exit(0);
