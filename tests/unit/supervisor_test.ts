// The supervisor with real processes (bash and sleep standing in for a daemonizing
// program): identity persisted before and after the launch, resolution after a
// "restart" (a fresh Supervisor on the same store), strays and orphans killed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/store/db.ts";
import { ProcessStore } from "../../src/store/processes.ts";
import { Supervisor } from "../../src/daemon/supervisor/supervisor.ts";
import { isAlive, scanProcesses, waitGone } from "../../src/process/os.ts";
import { sleep } from "../../src/timeout.ts";

const owner = { kind: "TEST", id: "a" };

/** A program that daemonizes like QEMU -daemonize: its child carries the marker. */
function daemonizing(marker: string, pidFile: string) {
  return {
    binary: "/bin/bash",
    args: [
      "-c",
      `nohup bash -c 'sleep 300; :' '${marker}' >/dev/null 2>&1 & echo $! > '${pidFile}'`,
    ],
  };
}

function withStore(fn: (dir: string, store: ProcessStore) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync("/tmp/isd-sup-");
    const db = openDatabase(join(dir, "state.db"));
    try {
      await fn(dir, new ProcessStore(db));
    } finally {
      const { orphans } = await scanProcesses([], (argv) => argv.some((a) => a.includes(dir)));
      for (const pid of orphans) process.kill(pid, "SIGKILL");
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test(
  "supervisor: launch persists the identity; a new supervisor resolves it to the same pid",
  withStore(async (dir, store) => {
    const marker = `${dir}/run-a/`;
    const pidFile = join(dir, "a.pid");
    const rec = await new Supervisor(store).launch({
      owner,
      role: "main",
      ...daemonizing(marker, pidFile),
      pidFile,
      marker,
      info: { note: "x" },
    });
    assert.ok(rec.pid > 0 && isAlive(rec.pid));
    const stored = store.get(owner, "main")!;
    assert.equal(stored.pid, rec.pid);
    assert.equal(stored.marker, marker);
    assert.deepEqual(stored.info, { note: "x" });
    const again = new Supervisor(store);
    const resolved = await again.resolveAll([store.get(owner, "main")!]);
    assert.deepEqual([...resolved.values()], [rec.pid]);
    await again.reap(store.get(owner, "main")!);
    assert.ok(await waitGone(rec.pid, 3000));
    assert.equal(store.get(owner, "main"), undefined);
  }),
);

Deno.test(
  "supervisor: an intent (pid 0) is completed from the pid file; duplicates and orphans are killed",
  withStore(async (dir, store) => {
    const marker = `${dir}/run-a/`;
    const pidFile = join(dir, "a.pid");
    // A launch the daemon never saw complete: only the intent is recorded.
    store.put({
      owner,
      role: "main",
      pid: 0,
      startTime: "",
      marker,
      pidFile,
      info: {},
      launchedAt: new Date().toISOString(),
    });
    const { binary, args } = daemonizing(marker, pidFile);
    spawn(binary, args, { stdio: "ignore" });
    await sleep(300);
    // A second process with the same marker (a duplicate) and one of no known owner.
    const dup = spawn("bash", ["-c", "sleep 300; :", marker], { stdio: "ignore" });
    // A process that only names a file in the run dir (a `tail -f` of a log) is not it.
    const bystander = spawn("bash", ["-c", "sleep 300; :", `${marker}serial.log`], {
      stdio: "ignore",
    });
    const orphan = spawn("bash", ["-c", "sleep 300; :", `${dir}/run-zz/ ORPHAN`], {
      stdio: "ignore",
    });
    await sleep(200);
    const sup = new Supervisor(store);
    const rec = store.get(owner, "main")!;
    const resolved = await sup.resolveAll([rec], (argv) => argv.some((a) => a.includes("ORPHAN")));
    const pid = resolved.get(rec)!;
    assert.ok(pid > 0, "the intent resolved");
    assert.equal(store.get(owner, "main")!.pid, pid, "and was persisted");
    assert.ok(isAlive(pid));
    assert.ok(await waitGone(dup.pid!, 3000), "the duplicate was killed");
    assert.ok(await waitGone(orphan.pid!, 3000), "the orphan was killed");
    assert.ok(isAlive(bystander.pid!), "the bystander was left alone");
    bystander.kill("SIGKILL");
  }),
);

Deno.test(
  "supervisor: a failed launch leaves neither a process nor a record",
  withStore(async (dir, store) => {
    const marker = `${dir}/run-b/`;
    const sup = new Supervisor(store);
    await assert.rejects(
      sup.launch({
        owner,
        role: "main",
        binary: "/bin/bash",
        args: ["-c", `nohup bash -c 'sleep 300; :' '${marker}' >/dev/null 2>&1 & exit 3`],
        pidFile: join(dir, "b.pid"),
        marker,
      }),
      /failed to start: exit code 3/,
    );
    assert.equal(store.get(owner, "main"), undefined);
    await sleep(100);
    const { byMarker } = await scanProcesses([marker]);
    assert.deepEqual(byMarker.get(marker), [], "the half-started process was reaped");
  }),
);

Deno.test("scanProcesses: an empty marker matches nothing", async () => {
  const { byMarker, orphans } = await scanProcesses([""]);
  assert.deepEqual(byMarker.get(""), []);
  assert.deepEqual(orphans, []);
});

Deno.test(
  "supervisor: a stale pid file is never taken for the new process's (its pid is written late)",
  withStore(async (dir, store) => {
    const marker = `${dir}/run-late/`;
    const pidFile = join(dir, "late.pid");
    // Left by a killed predecessor, naming a live process that is not ours.
    writeFileSync(pidFile, `${process.pid}\n`);
    // Like vde_switch -d: the launcher exits at once, the child writes its pid later.
    const rec = await new Supervisor(store).launch({
      owner,
      role: "main",
      binary: "/bin/bash",
      args: [
        "-c",
        `nohup bash -c 'sleep 0.3; echo $$ > "$0"; sleep 300; :' '${pidFile}' '${marker}' ` +
        ">/dev/null 2>&1 &",
      ],
      pidFile,
      marker,
    });
    assert.notEqual(rec.pid, process.pid);
    const { byMarker } = await scanProcesses([marker]);
    assert.deepEqual(byMarker.get(marker), [rec.pid]);
  }),
);
