// Supervision of helper processes of any kind: the identity is persisted before the
// launch (an intent with the marker and pid file) and completed right after it, so a
// daemon killed at any moment can find the process again; after a restart every
// process that carries one of our markers is either resolved to its owner or killed.
import { rm } from "node:fs/promises";
import type { Owner, ProcessRecord, ProcessStore } from "../../store/processes.ts";
import { sleep } from "../../timeout.ts";
import {
  killAndWait,
  launchDaemonizing,
  processStartTime,
  readPidFile,
  sameProcess,
  scanProcesses,
} from "../../process/os.ts";
import { log } from "../log.ts";

export interface LaunchSpec {
  owner: Owner;
  role: string;
  binary: string;
  args: string[];
  pidFile: string;
  /** A run of arguments only this process carries (see os.ts `marker`). */
  marker: string;
  info?: Record<string, string>;
}

/** How long a daemonizing launcher may still be finishing when we look for its child. */
const SETTLE_MS = 3000;
/** After a failed launch: scans for a half-started child, this far apart, at most this many. */
const REAP_PAUSE_MS = 50;
const REAP_ROUNDS = 10;

export class Supervisor {
  constructor(readonly store: ProcessStore) {}

  /** Persists the intent, launches, persists the pid. On failure nothing is left running. */
  async launch(spec: LaunchSpec): Promise<ProcessRecord> {
    const rec: ProcessRecord = {
      owner: spec.owner,
      role: spec.role,
      pid: 0,
      startTime: "",
      marker: spec.marker,
      pidFile: spec.pidFile,
      info: spec.info ?? {},
      launchedAt: new Date().toISOString(),
    };
    this.store.put(rec);
    try {
      // A pid file left by a killed predecessor would be read as the new process's (some
      // programs write theirs late), and wirefilter refuses to start beside one.
      await rm(spec.pidFile, { force: true });
      rec.pid = await launchDaemonizing(spec.binary, spec.args, spec.pidFile);
    } catch (e) {
      await this.reap(rec, { launching: true });
      throw e;
    }
    rec.startTime = processStartTime(rec.pid);
    this.store.put(rec);
    return rec;
  }

  record(owner: Owner, role: string): ProcessRecord | undefined {
    return this.store.get(owner, role);
  }

  /** The persisted process is alive and is still the one we launched. */
  alive(rec: ProcessRecord | undefined): boolean {
    return !!rec && sameProcess(rec.pid, rec.startTime);
  }

  /**
   * Resolves records after a restart: the live pid of each (an intent is completed
   * from its pid file), with every other process carrying its marker killed, and so
   * is every process that passes the orphan test (ours, but of no known owner). A
   * launcher killed mid-start may still be finishing (two processes carry the marker
   * until it exits), so extras get a few seconds to go by themselves.
   */
  async resolveAll(
    recs: ProcessRecord[],
    orphan?: (argv: string[]) => boolean,
  ): Promise<Map<ProcessRecord, number | undefined>> {
    const markers = recs.map((r) => r.marker);
    const live = (r: ProcessRecord) => (this.alive(r) ? r.pid : undefined);
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const scan = await scanProcesses(markers, orphan);
      for (const r of recs) {
        if (this.alive(r)) continue;
        const pid = await readPidFile(r.pidFile);
        if (pid && scan.byMarker.get(r.marker)!.includes(pid)) {
          r.pid = pid;
          r.startTime = processStartTime(pid);
          this.store.put(r);
        }
      }
      const extras = recs.flatMap((r) =>
        scan.byMarker.get(r.marker)!.filter((p) => p !== live(r)).map((pid) => ({
          owner: r.owner.id,
          pid,
        }))
      ).concat(scan.orphans.map((pid) => ({ owner: "none", pid })));
      if (extras.length === 0 || Date.now() >= deadline) {
        for (const { owner, pid } of extras) {
          log.warn("killing a stray process", { owner, pid });
          await killAndWait(pid);
        }
        return new Map(recs.map((r) => [r, live(r)]));
      }
      await sleep(100);
    }
  }

  /**
   * Kills whatever runs for a record and forgets it: every process carrying its marker,
   * and the recorded pid only when its start time proves it is still ours (without
   * one, as on macOS, a recycled pid could belong to anybody).
   */
  async reap(rec: ProcessRecord, opts: { launching?: boolean } = {}): Promise<void> {
    if (rec.startTime && this.alive(rec)) await killAndWait(rec.pid);
    // After a failed launch, a child of the launcher may be between fork and exec at the
    // first scan (its command line not yet the marker's): scan until one comes back
    // empty after a pause, so it cannot slip through.
    for (let round = 0;; round++) {
      const { byMarker } = await scanProcesses([rec.marker]);
      const pids = byMarker.get(rec.marker)!;
      for (const pid of pids) await killAndWait(pid);
      if (!opts.launching || (pids.length === 0 && round > 0) || round >= REAP_ROUNDS) break;
      await sleep(REAP_PAUSE_MS);
    }
    this.store.forget(rec.owner, rec.role);
  }

  forget(owner: Owner, role: string): void {
    this.store.forget(owner, role);
  }
}
