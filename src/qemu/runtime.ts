// A live QEMU under supervision: its QMP connection (with a liveness ping), its
// drained serial port, and exit detection with the reason QEMU gave. QEMU is not the
// daemon's child (it runs -daemonize), so the exit is seen through a pid watch that
// polls fast once the QMP socket closes.
import { QmpClient, type QmpEvent } from "./qmp.ts";
import { SerialPort } from "./serial.ts";
import { ProcessWatch } from "../process/watch.ts";
import { sleep } from "../timeout.ts";

export interface ExitInfo {
  /** True when QEMU shut down in an orderly way (a SHUTDOWN event was seen). */
  clean: boolean;
  reason: string;
}

/** A QEMU whose QMP has not answered for this long is reported as not answering. */
const UNRESPONSIVE_MS = 5000;
const PING_EVERY_MS = 1000;
export const NOT_ANSWERING = "QEMU is not answering (QMP silent for 5 s)";

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
  readonly watch: ProcessWatch;
  #shutdown?: { guest: boolean; reason: string };
  #responsive = true;
  /** Set by the daemon before it stops QEMU on purpose; reported as the exit reason. */
  stopReason?: string;

  private constructor(
    readonly pid: number,
    readonly qmp: QmpClient,
    readonly serial: SerialPort,
    /** Told when QMP stops or starts answering again. */
    private readonly onResponsiveChange: (responsive: boolean) => void,
  ) {
    this.watch = new ProcessWatch(pid);
    qmp.onEvent = (e: QmpEvent) => {
      if (e.event === "SHUTDOWN") {
        this.#shutdown = {
          guest: Boolean(e.data?.guest),
          reason: String(e.data?.reason ?? "unknown"),
        };
      }
    };
    // QMP closes when QEMU exits; the process may linger a moment, so poll fast then.
    qmp.onClose = () => this.watch.hint();
    this.exited = this.watch.exited.then(() => {
      this.serial.close();
      this.qmp.close();
      return this.#exitInfo();
    });
    this.#ping();
  }

  /**
   * Connects to a QEMU's QMP and serial sockets and checks that it is the VM we
   * think (QMP query-uuid must return the VM id): a recycled pid never matches.
   */
  static async attach(
    pid: number,
    sockets: { qmp: string; serial: string },
    uuid: string,
    onResponsiveChange: (responsive: boolean) => void = () => {},
  ): Promise<VmRuntime> {
    const qmp = await QmpClient.connect(sockets.qmp);
    try {
      const got = await qmp.execute<{ UUID: string }>("query-uuid");
      if (got.UUID.toLowerCase() !== uuid.toLowerCase()) {
        throw new Error(`QMP socket belongs to VM ${got.UUID}, not ${uuid}`);
      }
      const serial = await SerialPort.connect(sockets.serial);
      return new VmRuntime(pid, qmp, serial, onResponsiveChange);
    } catch (e) {
      qmp.close();
      throw e;
    }
  }

  /** Asks QEMU for its status every second; silence for 5 s means not answering. */
  async #ping(): Promise<void> {
    let lastAnswer = Date.now();
    while (this.watch.running) {
      const t0 = Date.now();
      try {
        await this.qmp.execute("query-status", undefined, UNRESPONSIVE_MS);
        lastAnswer = Date.now();
      } catch { /* timed out or closed: judged below */ }
      if (!this.watch.running) return;
      const responsive = Date.now() - lastAnswer < UNRESPONSIVE_MS;
      if (responsive !== this.#responsive) {
        this.#responsive = responsive;
        this.onResponsiveChange(responsive);
      }
      await sleep(Math.max(0, PING_EVERY_MS - (Date.now() - t0)));
    }
  }

  #exitInfo(): ExitInfo {
    const sd = this.#shutdown;
    if (this.stopReason) return { clean: true, reason: this.stopReason };
    if (sd) {
      return {
        clean: sd.reason !== "guest-panic",
        reason: SHUTDOWN_REASONS[sd.reason] ?? `shutdown: ${sd.reason}`,
      };
    }
    return { clean: false, reason: "qemu exited unexpectedly (no shutdown event; killed?)" };
  }

  get running(): boolean {
    return this.watch.running;
  }

  get responsive(): boolean {
    return this.#responsive;
  }

  /** Presses the ACPI power button. */
  powerdown(): Promise<unknown> {
    return this.qmp.execute("system_powerdown");
  }

  /** QMP quit, answered or not within 1 s. */
  async quit(): Promise<void> {
    await this.qmp.execute("quit", undefined, 1000).catch(() => {});
  }

  /** Stops watching without touching QEMU (daemon shutdown: QEMU keeps running). */
  detach(): void {
    this.watch.detach();
    this.serial.close();
    this.qmp.close();
  }
}
