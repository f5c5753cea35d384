// Noticing that a supervised process exited. Supervised programs are not the daemon's
// children (they daemonize), so exit is seen by polling the pid; an owner that learns
// of an exit sooner (QMP closing) calls hint() to poll fast.
import { isAlive, signal, waitGone } from "./os.ts";
import { sleep } from "../timeout.ts";

// Slow on purpose: each owner hears an exit at once from a socket that closes (QMP, the
// engine's control connection) and calls hint(); this poll is the backstop. At 250 ms,
// 20 VMs and their engines cost an idle daemon about 1% of a core in pid checks alone.
const POLL_MS = 1000;
const FAST_POLL_MS = 20;

export class ProcessWatch {
  /** Resolves when the process is gone (never, after detach()). */
  readonly exited: Promise<void>;
  #resolve!: () => void;
  #timer: ReturnType<typeof setInterval>;
  #done = false;

  constructor(readonly pid: number) {
    this.exited = new Promise((r) => (this.#resolve = r));
    this.#timer = setInterval(() => this.#check(), POLL_MS);
  }

  get running(): boolean {
    return !this.#done;
  }

  /** The process is probably exiting: poll fast from now on. */
  hint(): void {
    if (this.#done) return;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#check(), FAST_POLL_MS);
    this.#check();
  }

  #check(): void {
    if (this.#done || isAlive(this.pid)) return;
    this.#done = true;
    clearInterval(this.#timer);
    this.#resolve();
  }

  /** Waits up to ms for the exit; true if the process is gone. */
  async waitExit(ms: number): Promise<boolean> {
    if (this.#done) return true;
    let t: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => (t = setTimeout(() => r(false), ms)));
    const ok = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(t);
    return ok;
  }

  /** SIGKILL, then wait for the exit to be seen (at most 3 s). */
  async kill(): Promise<void> {
    signal(this.pid, "SIGKILL");
    if (await waitGone(this.pid, 3000)) this.#check();
  }

  /** Stops watching without touching the process (daemon shutdown). */
  detach(): void {
    this.#done = true;
    clearInterval(this.#timer);
  }
}

/** One step of a stop: an action, then a wait for the exit. */
export interface StopStep {
  what: string;
  action: () => Promise<unknown>;
  waitMs: number;
}

/**
 * Stops a process by escalation: each step's action (bounded by its wait), then a
 * wait for the exit; SIGKILL when all steps are spent. Returns the step that ended it.
 */
export async function stopByEscalation(w: ProcessWatch, steps: StopStep[]): Promise<string> {
  for (const s of steps) {
    if (!w.running) return "gone";
    const deadline = Date.now() + s.waitMs;
    await Promise.race([s.action().catch(() => {}), w.exited, sleep(s.waitMs)]);
    if (await w.waitExit(Math.max(0, deadline - Date.now()))) return s.what;
  }
  await w.kill();
  return "SIGKILL";
}
