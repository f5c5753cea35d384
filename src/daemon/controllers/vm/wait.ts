// Readiness of a running guest: a forwarded TCP port that really answers (QEMU's user
// networking accepts every connection on the host side and drops it only when the guest
// refuses, so an accepted connect alone proves nothing), and/or a pattern on the serial
// console. Bounded by a deadline; the VM is left as it is when it is not ready in time.
import { Buffer } from "node:buffer";
import { createConnection } from "node:net";
import { open } from "node:fs/promises";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { ApiError, failedPrecondition, invalid, quote, Status } from "../../../api/errors.ts";
import { intIn, LIMITS } from "../../../api/validate/common.ts";
import { normalizeWaitFor } from "../../../api/validate/guest.ts";
import type { StoredVm } from "../../../store/vm_store.ts";

export const WAIT_DEFAULT_SECONDS = 300;
const POLL_MS = 500;
/** A non-SSH port that keeps a connection open this long without closing it is up. */
const HOLD_MS = 1000;

interface Probe {
  current: () => StoredVm;
  running: () => boolean;
  signal: AbortSignal;
}

/** Connects once: true when the guest side answers (SSH: sends its banner). */
export function probePort(hostPort: number, ssh: boolean, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port: hostPort });
    let data = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on("connect", () => {
      if (!ssh) setTimeout(() => done(!sock.destroyed && sock.readyState === "open"), HOLD_MS);
    });
    sock.on("data", (d) => {
      data += d.toString("latin1");
      if (!ssh || data.startsWith("SSH-")) done(true);
      else if (data.length >= 4) done(false);
    });
    sock.on("error", () => done(false));
    sock.on("close", () => done(false));
  });
}

/** What a serial log holds so far, reading only what was added since the last call. */
class LogTail {
  #text = "";
  #offset = 0;

  async read(path: string): Promise<string> {
    const f = await open(path, "r").catch(() => undefined);
    if (!f) return this.#text;
    try {
      const { size } = await f.stat();
      if (size < this.#offset) {
        // A new log: the VM was restarted.
        this.#text = "";
        this.#offset = 0;
      }
      if (size > this.#offset) {
        const buf = Buffer.alloc(size - this.#offset);
        const { bytesRead } = await f.read(buf, 0, buf.length, this.#offset);
        this.#offset += bytesRead;
        this.#text += buf.subarray(0, bytesRead).toString("latin1");
      }
    } finally {
      await f.close();
    }
    return this.#text;
  }
}

function describe(w: T.WaitFor): string {
  const parts: string[] = [];
  if (w.guest_port) {
    parts.push(
      w.guest_port === 22
        ? "an SSH banner on guest port 22"
        : `guest port ${w.guest_port} to accept connections`,
    );
  }
  if (w.serial) parts.push(`${quote(w.serial)} on the serial console`);
  return parts.join(" and ");
}

export async function waitReady(vm: StoredVm, req: T.WaitVmRequest, p: Probe): Promise<StoredVm> {
  const name = vm.meta.name;
  const seconds = req.timeout_seconds
    ? intIn(req.timeout_seconds, LIMITS.timeoutSeconds, "timeout_seconds")
    : WAIT_DEFAULT_SECONDS;
  const w = req.wait_for
    ? normalizeWaitFor(req.wait_for, vm.spec.network?.port_forwards ?? [], "")
    : vm.spec.wait_for;
  if (!w) {
    throw invalid(
      "wait_for",
      `vm ${quote(name)} has no wait_for; give a guest port or a serial pattern to wait for`,
    );
  }
  const pattern = w.serial ? new RegExp(w.serial) : undefined;
  const deadline = Date.now() + seconds * 1000;
  const log = new LogTail();
  let portOk = !w.guest_port;
  let serialOk = !pattern;
  while (true) {
    p.signal.throwIfAborted();
    const cur = p.current();
    if (!p.running()) {
      throw failedPrecondition(
        `vm ${quote(name)} is not running (${cur.status.state.toLowerCase()}${
          cur.status.last_exit_reason ? `: ${cur.status.last_exit_reason}` : ""
        }); start it first`,
      );
    }
    if (!serialOk) serialOk = pattern!.test(await log.read(cur.status.serial_log_path));
    if (!portOk) {
      const fwd = cur.status.port_forwards.find((f) =>
        f.protocol === "tcp" && f.guest_port === w.guest_port
      );
      portOk = !!fwd && (await probePort(fwd.host_port, w.guest_port === 22));
    }
    if (portOk && serialOk) return cur;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new ApiError(
        Status.DEADLINE_EXCEEDED,
        `vm ${quote(name)} was not ready within ${seconds} s: waited for ${describe(w)}; ` +
          `it is left running (see infrasim vm logs ${name})`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}
