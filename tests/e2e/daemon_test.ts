// infrasimd's own guarantees: loopback only, private sockets and state, config errors.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { E2E, e2eTest, INFRASIMD, waitFor } from "../helpers/env.ts";

function runDaemon(args: string[]) {
  return spawnSync(INFRASIMD, args, { encoding: "utf8", timeout: 20_000 });
}

e2eTest(
  "infrasimd: 0600 socket and state, health, refuses a second daemon on the same data dir",
  async (d) => {
    assert.equal(statSync(d.socket).mode & 0o777, 0o600);
    assert.equal(statSync(`${d.dataDir}/state.db`).mode & 0o777, 0o600);
    assert.equal(statSync(d.dataDir).mode & 0o777, 0o700);
    assert.equal(await d.client.health(), "SERVING");
    assert.equal(await d.client.health("infrasim.v1.VmService"), "SERVING");
    const st = await d.client.getDaemonStatus({});
    assert.match(st.version, /^\d+\.\d+\.\d+/);
    assert.equal(st.data_dir, d.dataDir);
    const second = runDaemon(["--data-dir", d.dataDir, "--listen", ""]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, /another infrasimd is already serving/);
    assert.equal(await d.client.health(), "SERVING", "the first daemon is untouched");
  },
);

Deno.test({
  name: "infrasimd: bad listen addresses and config keys stop startup naming them",
  ...E2E,
  fn: () => {
    const dir = mkdtempSync("/tmp/isd-cfg-");
    try {
      const open = runDaemon(["--data-dir", dir, "--listen", "0.0.0.0:50051"]);
      assert.equal(open.status, 2);
      assert.match(open.stderr, /listen: 0\.0\.0\.0 is not a loopback address/);

      writeFileSync(`${dir}/config.toml`, 'listen = ""\n[qemu]\nacceleratr = "tcg"\n');
      const unknown = runDaemon(["--data-dir", dir]);
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /unknown key "qemu\.acceleratr"/);

      writeFileSync(`${dir}/config.toml`, 'log_level = "loud"\n');
      const badValue = runDaemon(["--data-dir", dir]);
      assert.equal(badValue.status, 2);
      assert.match(badValue.stderr, /log_level: must be one of debug, info, warn, error/);

      const missing = runDaemon(["--config", `${dir}/nope.toml`]);
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /--config: .*nope\.toml does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "infrasimd: of four daemons started at the same moment on one data dir, one serves",
  ...E2E,
  fn: async () => {
    const dir = mkdtempSync("/tmp/isd-twin-");
    const procs: ChildProcess[] = [];
    try {
      const start = () => {
        const p = spawn(INFRASIMD, ["--data-dir", dir, "--listen", ""], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        p.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
        procs.push(p);
        return { p, err: () => err };
      };
      const all = [start(), start(), start(), start()];
      const ready = (t: (typeof all)[number]) => t.err().includes("infrasimd ready");
      await waitFor(
        "all but one to give up",
        () => all.filter((t) => t.p.exitCode === 1).length === 3,
        20_000,
      );
      const winner = all.find((t) => t.p.exitCode === null)!;
      await waitFor("the winner to be ready", () => ready(winner), 20_000);
      for (const t of all.filter((t) => t !== winner)) {
        assert.match(t.err(), /another infrasimd is already serving/);
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(winner.p.exitCode, null, "the winner keeps serving");
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
