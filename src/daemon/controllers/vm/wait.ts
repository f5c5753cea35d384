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
  /** Resolves at the VM's next stored change (or after ms): a stop is seen at once. */
  changed: (ms: number) => Promise<void>;
  signal: AbortSignal;
}

/**
 * Connects once: true when the guest side answers. SSH: its banner arrives. Any other
 * port: QEMU's user networking keeps a connection open both while the guest listens and
 * while the guest is not up yet (its SYNs go unanswered), and closes it at once when the
 * guest refuses. So the connection must stay open HOLD_MS, and then, once we close our
 * side, the guest must react: send something, or close too (a server reads EOF and
 * closes). A guest still booting does neither.
 */
export function probePort(hostPort: number, ssh: boolean, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port: hostPort });
    let data = "";
    let halfClosed = false;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs + (ssh ? 0 : HOLD_MS));
    sock.on("connect", () => {
      if (ssh) return;
      setTimeout(() => {
        if (sock.destroyed || sock.readyState !== "open") return done(false);
        halfClosed = true;
        sock.end();
      }, HOLD_MS);
    });
    sock.on("data", (d) => {
      data += d.toString("latin1");
      if (!ssh || data.startsWith("SSH-")) done(true);
      else if (data.length >= 4) done(false);
    });
    // The guest closing in answer to our FIN is an answer; closing before it is a refusal.
    sock.on("end", () => done(halfClosed));
    sock.on("error", () => done(false));
    sock.on("close", () => done(halfClosed && !ssh));
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

/** One guest's readiness condition, checked again and again (what was met stays met). */
export class ReadyCheck {
  #pattern?: RegExp;
  #log = new LogTail();
  #portOk: boolean;
  #serialOk: boolean;

  constructor(readonly w: T.WaitFor) {
    this.#pattern = w.serial ? new RegExp(w.serial) : undefined;
    this.#portOk = !w.guest_port;
    this.#serialOk = !this.#pattern;
  }

  async met(cur: StoredVm): Promise<boolean> {
    if (!this.#serialOk) {
      this.#serialOk = this.#pattern!.test(await this.#log.read(cur.status.serial_log_path));
    }
    if (!this.#portOk) {
      const fwd = cur.status.port_forwards.find((f) =>
        f.protocol === "tcp" && f.guest_port === this.w.guest_port
      );
      this.#portOk = !!fwd && (await probePort(fwd.host_port, this.w.guest_port === 22));
    }
    return this.#portOk && this.#serialOk;
  }
}

/**
 * Returns once a running VM is ready: as its spec.wait_for says, when the daemon's own
 * probe stores status.ready (each change wakes the wait), or as the request's wait_for
 * says, probed here. Fails when the VM is not running or stops, and at the deadline.
 */
export async function waitReady(vm: StoredVm, req: T.WaitVmRequest, p: Probe): Promise<StoredVm> {
  const name = vm.meta.name;
  const seconds = req.timeout_seconds
    ? intIn(req.timeout_seconds, LIMITS.timeoutSeconds, "timeout_seconds")
    : WAIT_DEFAULT_SECONDS;
  const adHoc = req.wait_for
    ? normalizeWaitFor(req.wait_for, vm.spec.network?.port_forwards ?? [], "")
    : null;
  const w = adHoc ?? vm.spec.wait_for;
  if (!w) {
    throw invalid(
      "wait_for",
      `vm ${quote(name)} has no wait_for; give a guest port or a serial pattern to wait for`,
    );
  }
  const check = adHoc ? new ReadyCheck(adHoc) : undefined;
  const deadline = Date.now() + seconds * 1000;
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
    if (check ? await check.met(cur) : cur.status.ready) return p.current();
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new ApiError(
        Status.DEADLINE_EXCEEDED,
        `vm ${quote(name)} was not ready within ${seconds} s: waited for ${describe(w)}; ` +
          `it is left running (see infrasim vm logs ${name})`,
      );
    }
    if (check) await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
    else await p.changed(left);
  }
}
