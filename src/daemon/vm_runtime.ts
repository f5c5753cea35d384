// A live QEMU under supervision: its QMP connection, its drained serial port, and
// exit detection. QEMU is not the daemon's child (it runs -daemonize), so exit is
// seen through the QMP socket closing, backed by a pid poll.
import { QmpClient, type QmpEvent } from "../qemu/qmp.ts";
import { SerialPort } from "../qemu/serial.ts";
import { isAlive } from "../qemu/process.ts";

export interface ExitInfo {
  /** True when QEMU shut down in an orderly way (a SHUTDOWN event was seen). */
  clean: boolean;
  reason: string;
}

const POLL_MS = 250;

/** Reasons from QMP's SHUTDOWN event, said for people. */
const SHUTDOWN_REASONS: Record<string, string> = {
  "guest-shutdown": "the guest powered off",
  "guest-reset": "the guest reset with -no-reboot",
  "guest-panic": "the guest panicked",
  "host-qmp-quit": "stopped by infrasimd (QMP quit)",
  "host-qmp-system-reset": "reset by QMP",
  "host-signal": "qemu received a termination signal",
  "host-ui": "closed from the QEMU user interface",
  "subsystem-reset": "subsystem reset",
};

export class VmRuntime {
  readonly exited: Promise<ExitInfo>;
  #resolveExit!: (e: ExitInfo) => void;
  #shutdown?: { guest: boolean; reason: string };
  #done = false;
  #timer: ReturnType<typeof setInterval>;
  /** Set by the daemon before it stops QEMU on purpose; reported as the exit reason. */
  stopReason?: string;

  private constructor(
    readonly pid: number,
    readonly qmp: QmpClient,
    readonly serial: SerialPort,
  ) {
    this.exited = new Promise((r) => (this.#resolveExit = r));
    qmp.onEvent = (e: QmpEvent) => {
      if (e.event === "SHUTDOWN") {
        this.#shutdown = {
          guest: Boolean(e.data?.guest),
          reason: String(e.data?.reason ?? "unknown"),
        };
      }
    };
    // QMP closes when QEMU exits; the process may linger a moment, so poll fast then.
    qmp.onClose = () => {
      clearInterval(this.#timer);
      this.#timer = setInterval(() => this.#check(), 20);
      this.#check();
    };
    this.#timer = setInterval(() => this.#check(), POLL_MS);
  }

  /**
   * Connects to a QEMU's QMP and serial sockets and checks that it is the VM we
   * think (QMP query-uuid must return the VM id): a recycled pid never matches.
   */
  static async attach(
    pid: number,
    sockets: { qmp: string; serial: string },
    uuid: string,
  ): Promise<VmRuntime> {
    const qmp = await QmpClient.connect(sockets.qmp);
    try {
      const got = await qmp.execute<{ UUID: string }>("query-uuid");
      if (got.UUID.toLowerCase() !== uuid.toLowerCase()) {
        throw new Error(`QMP socket belongs to VM ${got.UUID}, not ${uuid}`);
      }
      const serial = await SerialPort.connect(sockets.serial);
      return new VmRuntime(pid, qmp, serial);
    } catch (e) {
      qmp.close();
      throw e;
    }
  }

  #check(): void {
    if (this.#done) return;
    if (isAlive(this.pid)) return;
    this.#done = true;
    clearInterval(this.#timer);
    this.serial.close();
    this.qmp.close();
    const sd = this.#shutdown;
    let info: ExitInfo;
    if (this.stopReason) info = { clean: true, reason: this.stopReason };
    else if (sd) {
      info = {
        clean: sd.reason !== "guest-panic",
        reason: SHUTDOWN_REASONS[sd.reason] ?? `shutdown: ${sd.reason}`,
      };
    } else {
      info = { clean: false, reason: "qemu exited unexpectedly (no shutdown event; killed?)" };
    }
    this.#resolveExit(info);
  }

  get running(): boolean {
    return !this.#done;
  }

  /** Presses the ACPI power button. */
  powerdown(): Promise<unknown> {
    return this.qmp.execute("system_powerdown");
  }

  async quit(): Promise<void> {
    await this.qmp.execute("quit").catch(() => {});
  }

  kill(): void {
    try {
      process.kill(this.pid, "SIGKILL");
    } catch { /* already gone */ }
  }

  /** Waits up to ms for the exit; true if QEMU exited. */
  async waitExit(ms: number): Promise<boolean> {
    let t: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => (t = setTimeout(() => r(false), ms)));
    const ok = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(t);
    return ok;
  }

  /** Stops watching without touching QEMU (daemon shutdown: QEMU keeps running). */
  detach(): void {
    this.#done = true;
    clearInterval(this.#timer);
    this.serial.close();
    this.qmp.close();
  }
}
