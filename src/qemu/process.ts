// Starting QEMU detached from the daemon, and telling whether a pid is still the
// QEMU we started.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Runs QEMU with -daemonize: the launcher exits once QEMU is initialized (sockets
 * listening), and the real QEMU is reparented away from the daemon, in its own
 * session, so it survives the daemon's death. Resolves to the QEMU pid.
 */
/**
 * bash closes every inherited descriptor above stderr, then execs QEMU: runtimes do
 * not all mark their sockets close-on-exec, and a QEMU holding the daemon's listening
 * socket would keep the API "alive" after the daemon died.
 */
const CLOSE_FDS_AND_EXEC =
  'for fd in /dev/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null; done; exec "$@"';

export function launchDaemonized(binary: string, args: string[], pidFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/bash", ["-c", CLOSE_FDS_AND_EXEC, "qemu", binary, ...args], {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    child.on("error", (err) => reject(new Error(`cannot run ${binary}: ${err.message}`)));
    child.on("exit", (code, signal) => {
      if (code !== 0) {
        const why = stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ") ||
          `exit code ${code ?? signal}`;
        reject(new Error(`qemu failed to start: ${why}`));
        return;
      }
      try {
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        if (!Number.isInteger(pid) || pid <= 0) throw new Error("bad pid file");
        resolve(pid);
      } catch (e) {
        reject(new Error(`qemu started but its pid file is unreadable: ${(e as Error).message}`));
      }
    });
    child.unref();
  });
}

/** Linux process start time (clock ticks since boot), "" where /proc is unavailable. */
export function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesized command name; starttime is field 22.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19] ?? "";
  } catch {
    return "";
  }
}

/** True if pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): kill(0) is all we have
  }
}
