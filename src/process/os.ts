// The operating-system side of supervision: launching a program detached from the
// daemon, telling whether a pid is still the process we started, and finding
// processes by a string their command line carries. Nothing here knows QEMU.
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { sleep, withTimeout } from "../timeout.ts";

/**
 * bash closes every inherited descriptor above stderr, then execs the program:
 * runtimes do not all mark their sockets close-on-exec, and a child holding the
 * daemon's listening socket would keep the API "alive" after the daemon died.
 */
const CLOSE_FDS_AND_EXEC =
  'for fd in /dev/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null; done; exec "$@"';

const LAUNCH_TIMEOUT_MS = 60_000;
const PID_FILE_WAIT_MS = 3000;

/**
 * Runs a program that daemonizes itself and writes a pid file (QEMU -daemonize,
 * vde_switch -d, wirefilter --daemon): the launcher exits once the program is ready,
 * and the program lives on in its own session, so it survives the daemon's death.
 * Resolves to the daemonized pid. The launcher is killed after a timeout.
 */
export function launchDaemonizing(
  binary: string,
  args: string[],
  pidFile: string,
  timeoutMs = LAUNCH_TIMEOUT_MS,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const name = binary.split("/").pop()!;
    const child = spawn("/bin/bash", ["-c", CLOSE_FDS_AND_EXEC, name, binary, ...args], {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not finish starting within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary}: ${err.message}`));
    });
    child.on("exit", async (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const why = stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ") ||
          `exit code ${code ?? signal}`;
        reject(new Error(`${name} failed to start: ${why}`));
        return;
      }
      // vde_switch -d writes its pid file from the child, after the parent exits.
      let pid = await readPidFile(pidFile);
      for (const t = Date.now(); !pid && Date.now() - t < PID_FILE_WAIT_MS;) {
        await sleep(10);
        pid = await readPidFile(pidFile);
      }
      if (pid) resolve(pid);
      else reject(new Error(`${name} started but its pid file ${pidFile} is unreadable`));
    });
    child.unref();
  });
}

/** The pid in a pid file, or undefined. */
export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await withTimeout(readFile(path, "utf8"), 2000, path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fields of a /proc/<pid>/stat text after the command name (field 3 on): the name
 * may itself hold spaces and parentheses. Pure.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
}

function procStat(pid: number): string[] | undefined {
  try {
    return statFields(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Linux process start time (clock ticks since boot), "" where /proc is unavailable. */
export function processStartTime(pid: number): string {
  return procStat(pid)?.[19] ?? ""; // field 22
}

/** True if pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  const stat = procStat(pid);
  return stat === undefined || stat[0] !== "Z"; // no /proc (macOS): kill(0) is all we have
}

/** The persisted process is still the same one: alive, with the same start time. */
export function sameProcess(pid: number, startTime: string): boolean {
  return pid > 0 && isAlive(pid) && (!startTime || processStartTime(pid) === startTime);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch { /* already gone */ }
}

/** Polls until pid is gone; true if it went within ms. */
export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

/** SIGKILL and wait (up to 3 s) until the process is gone. */
export async function killAndWait(pid: number): Promise<boolean> {
  signal(pid, "SIGKILL");
  return await waitGone(pid, 3000);
}

/**
 * A marker is a run of consecutive arguments only one process carries (for QEMU:
 * `-pidfile <run dir>/qemu.pid`), matched argument by argument: a `tail -f` of a file
 * in the run dir carries the path inside one argument, never the run.
 */
export function marker(...args: string[]): string {
  return args.join(SEP);
}
const SEP = "\x1f";

export interface Scan {
  /** Live processes whose arguments contain each marker. */
  byMarker: Map<string, number[]>;
  /** Live processes that pass the orphan test and carry none of the markers. */
  orphans: number[];
}

/** One pass over the process table: processes by marker, and orphans by a test. */
export async function scanProcesses(
  markers: string[],
  orphan: (argv: string[]) => boolean = () => false,
): Promise<Scan> {
  const byMarker = new Map<string, number[]>(markers.map((m) => [m, []]));
  const orphans: number[] = [];
  // An empty marker would match every process: it matches none.
  const real = markers.filter((m) => m.length > 0);
  for (const [pid, argv] of await commandLines()) {
    if (pid === process.pid) continue;
    const joined = SEP + argv.join(SEP) + SEP;
    const hits = real.filter((m) => joined.includes(SEP + m + SEP));
    if (hits.length === 0 && !orphan(argv)) continue;
    if (!isAlive(pid)) continue;
    if (hits.length === 0) orphans.push(pid);
    for (const m of hits) byMarker.get(m)!.push(pid);
  }
  return { byMarker, orphans };
}

/** pid -> arguments of every process this user can see. */
async function commandLines(): Promise<Array<[number, string[]]>> {
  if (process.platform === "linux") {
    const pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e));
    const out = await Promise.all(pids.map(async (p): Promise<[number, string[]] | undefined> => {
      try {
        const raw = await withTimeout(readFile(`/proc/${p}/cmdline`, "utf8"), 2000, p);
        return [Number(p), raw.replace(/\0$/, "").split("\0")];
      } catch {
        return undefined;
      }
    }));
    return out.filter((x): x is [number, string[]] => x !== undefined);
  }
  // ps joins arguments with spaces: split on them (paths with spaces do not match).
  const text = await new Promise<string>((resolve, reject) =>
    execFile("ps", ["-axww", "-o", "pid=,command="], { timeout: 10_000, maxBuffer: 64 << 20 }, (
      err,
      stdout,
    ) => (err ? reject(err) : resolve(stdout)))
  );
  return text.split("\n").flatMap((line): Array<[number, string[]]> => {
    const m = line.match(/^\s*(\d+)\s+(.*)$/);
    return m ? [[Number(m[1]), m[2].split(" ")]] : [];
  });
}
