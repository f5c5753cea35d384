// A process's CPU time and resident memory, for the metrics: from /proc on Linux, from
// `ps` on macOS (it has no /proc; `ps` reads the same kernel figures, proc_pidinfo). The
// parsers are pure; the readers bound every wait.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { withTimeout } from "../timeout.ts";
import { statFields } from "./os.ts";

export interface Usage {
  /** User plus system CPU time. */
  cpuSeconds: number;
  rssBytes: number;
}

/** Linux's clock ticks per second for /proc times: USER_HZ, 100 on every architecture. */
const USER_HZ = 100;
const READ_TIMEOUT_MS = 2000;

/**
 * /proc/<pid>/stat and /proc/<pid>/status: utime and stime (fields 14 and 15, after the
 * command name, which may itself hold spaces and parentheses) and VmRSS in kB.
 */
export function parseProcUsage(stat: string, status: string): Usage {
  const fields = statFields(stat);
  const utime = Number(fields[11]), stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`unexpected /proc stat: ${stat.slice(0, 80)}`);
  }
  const rss = status.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  return { cpuSeconds: (utime + stime) / USER_HZ, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

/** `ps -o cputime=,rss=`: a time as [[dd-]hh:]mm:ss[.ss] and the RSS in KiB. */
export function parsePsUsage(out: string): Usage {
  const m = out.trim().match(/^(?:(\d+)-)?([\d:.]+)\s+(\d+)$/);
  if (!m) throw new Error(`unexpected ps output: ${out.slice(0, 80)}`);
  const parts = m[2].split(":").map(Number);
  if (parts.length > 3 || parts.some((p) => !Number.isFinite(p))) {
    throw new Error(`unexpected ps time: ${m[2].slice(0, 20)}`);
  }
  const secs = parts.reduce((acc, p) => acc * 60 + p, 0) + Number(m[1] ?? 0) * 86_400;
  return { cpuSeconds: secs, rssBytes: Number(m[3]) * 1024 };
}

/** The usage of a live process; rejects when it is gone or the read takes too long. */
export async function processUsage(pid: number): Promise<Usage> {
  if (process.platform === "linux") {
    const [stat, status] = await withTimeout(
      Promise.all([
        readFile(`/proc/${pid}/stat`, "utf8"),
        readFile(`/proc/${pid}/status`, "utf8"),
      ]),
      READ_TIMEOUT_MS,
      `/proc/${pid}`,
    );
    return parseProcUsage(stat, status);
  }
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      "ps",
      ["-o", "cputime=,rss=", "-p", String(pid)],
      { timeout: READ_TIMEOUT_MS },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
  return parsePsUsage(out);
}

/** /proc/<pid>/io's wchar: every byte the process (all its threads) passed to a write call. */
export function parseProcIoWritten(io: string): number {
  const m = io.match(/^wchar:\s+(\d+)$/m);
  if (!m) throw new Error(`unexpected /proc io: ${io.slice(0, 80)}`);
  return Number(m[1]);
}

/** What a live process has written so far; undefined where the OS does not say (macOS). */
export async function processWrittenBytes(pid: number): Promise<number | undefined> {
  if (process.platform !== "linux") return undefined;
  const io = await withTimeout(
    readFile(`/proc/${pid}/io`, "utf8"),
    READ_TIMEOUT_MS,
    `/proc/${pid}`,
  );
  return parseProcIoWritten(io);
}
