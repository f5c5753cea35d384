// display "vnc": a UEFI guest's screen, served by QEMU on a unix socket in the VM's run
// dir (no TCP port), shows the firmware's and the kernel's drawing: a VNC client reads a
// frame that is not one colour. The CLI and the status say where the socket is.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { e2eTest, guest, READY, sleep, type TestDaemon } from "../helpers/env.ts";
import { nonUniformPixels, screenVmArgs, vncFrame } from "../helpers/rfb.ts";

e2eTest("display vnc: a UEFI guest's screen on the run dir's VNC socket", async (d) => {
  const tmp = mkdtempSync("/tmp/isd-vnc-");
  const disk = join(tmp, "boot.qcow2");
  copyFileSync(guest("x86_64").disk, disk);
  try {
    await screen(d, disk);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

async function screen(d: TestDaemon, disk: string): Promise<void> {
  const r = d.cli(screenVmArgs("screen", disk));
  assert.equal(r.code, 0, r.stderr);
  const vm = await d.client.getVm("screen");
  const sock = vm.status!.vnc_socket_path;
  assert.equal(sock, join(d.dataDir, "vms", vm.meta!.id, "vnc.sock"));
  assert.match(r.stdout, new RegExp(`Display:\\s+vnc \\(${sock.replaceAll(".", "\\.")}\\)`));
  // Its directory (the VM's run dir, 0700) keeps everyone but the daemon's user out.
  assert.equal(statSync(dirname(sock)).mode & 0o077, 0, "only its user can reach it");
  // The firmware draws first (its logo, its boot lines), then the kernel: poll until a
  // frame shows something.
  let best = 0, frame;
  for (const t0 = Date.now(); Date.now() - t0 < 120_000 && best < 200;) {
    frame = await vncFrame(sock).catch(() => undefined);
    if (frame) best = Math.max(best, nonUniformPixels(frame));
    if (best < 200) await sleep(500);
  }
  assert.ok(
    frame && frame.width >= 640 && frame.height >= 400,
    `frame ${frame?.width}x${frame?.height}`,
  );
  assert.ok(best >= 200, `the screen stayed one colour (${best} pixels differ)`);
  await d.waitSerial(vm, READY, 240_000);

  // Bad input names the flag; a VM without a screen has no socket.
  const bad = d.cli(["vm", "create", "--name", "x", "--disk", disk, "--display", "sdl"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --display: must be one of none, vnc \(got "sdl"\)/);
  assert.equal((await d.client.getVm("screen")).status!.vnc_socket_path, sock);
  const stopped = d.cli(["vm", "stop", "screen"]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal((await d.client.getVm("screen")).status!.vnc_socket_path, "");
}
