// `infrasim vm console` in a real terminal (tmux): raw mode, typing, Ctrl-] detaches.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  E2E,
  guest,
  guestSpec,
  INFRASIM,
  READY,
  sleep,
  TestDaemon,
  waitFor,
} from "../helpers/env.ts";

const tmux = (...args: string[]) => spawnSync("tmux", args, { encoding: "utf8" });

Deno.test({
  name: "cli: vm console in a real terminal types into the guest and detaches on Ctrl-]",
  ...E2E,
  fn: async () => {
    assert.equal(tmux("-V").status, 0, "tmux is required (tasks/setup.sh installs it)");
    const d = await TestDaemon.start();
    const session = `isc-${process.pid}`;
    try {
      const vm = await d.client.createVm({
        meta: { name: "tty" },
        spec: guestSpec(guest("x86_64")),
      });
      await d.waitSerial(vm, READY);
      const cmd =
        `INFRASIM_DATA_DIR=${d.dataDir} ${INFRASIM} vm console tty; echo EXITED=$?; sleep 30`;
      assert.equal(
        tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "30", cmd).status,
        0,
      );
      const screen = () => tmux("capture-pane", "-p", "-t", session).stdout;
      await waitFor("the console banner", () => screen().includes("Ctrl-] to detach"), 10_000);
      await sleep(300);
      tmux("send-keys", "-t", session, "-l", "echo tty-$((6*7))");
      tmux("send-keys", "-t", session, "Enter");
      await waitFor("the guest's answer", () => screen().includes("tty-42"), 15_000);
      // Ctrl-] is 0x1d; raw mode passes it to the CLI instead of the terminal driver.
      tmux("send-keys", "-t", session, "C-]");
      await waitFor("the CLI to detach", () => /Detached\.[\s\S]*EXITED=0/.test(screen()), 10_000);
      assert.equal(
        (await d.client.getVm("tty")).status!.state,
        "RUNNING",
        "detaching leaves the VM",
      );
    } finally {
      tmux("kill-session", "-t", session);
      await d.cleanup();
    }
  },
});
