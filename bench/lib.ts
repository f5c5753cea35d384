// Shared by the benchmarks: raw QEMU started with the same arguments infrasimd uses
// (same args builder), and a wait for the guest's ready marker in a serial log.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { buildQemuArgs, type RunPaths } from "../src/qemu/args.ts";
import { normalizeVmSpec as normalizeSpec } from "../src/api/validate/vm.ts";
import { findQemuBinary } from "../src/qemu/host.ts";
import { type Guest, guestSpec, READY } from "../tests/helpers/env.ts";

export async function untilMarker(log: string, t0: number, timeoutMs = 180_000): Promise<number> {
  while (performance.now() - t0 < timeoutMs) {
    if (existsSync(log) && readFileSync(log, "latin1").includes(READY)) {
      return performance.now() - t0;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${READY} in ${log}`);
}

/** A raw QEMU's sockets and files, all in one temporary dir. */
export function rawPaths(dir: string): RunPaths {
  return {
    qmpSocket: join(dir, "qmp.sock"),
    serialSocket: join(dir, "serial.sock"),
    serialLog: join(dir, "serial.log"),
    pidFile: join(dir, "qemu.pid"),
    firmwareVars: join(dir, "vars.fd"),
    vncSocket: join(dir, "vnc.sock"),
    guestAgentSocket: join(dir, "qga.sock"),
  };
}

/** Boots the guest with raw QEMU; resolves with ms from spawn to the ready marker. */
export async function rawQemuBoot(
  g: Guest,
  hostPort: number,
  t0 = performance.now(),
): Promise<number> {
  const dir = mkdtempSync("/tmp/isb-raw-");
  const spec = normalizeSpec({ ...guestSpec(g), disks: [], accelerator: "" } as never);
  const args = buildQemuArgs({
    id: randomUUID(),
    name: "raw",
    spec,
    accelerator: "tcg",
    ports: [{ protocol: "tcp", host_port: hostPort, guest_port: 80 }],
    paths: rawPaths(dir),
    supervised: false,
  });
  const child = spawn(findQemuBinary(g.arch)!, args, { stdio: "ignore" });
  try {
    return await untilMarker(join(dir, "serial.log"), t0);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const secs = (ms: number) => (ms / 1000).toFixed(2);
