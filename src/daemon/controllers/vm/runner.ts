// Running VMs: launching QEMU under the supervisor, watching its exit, stopping it by
// escalation, and re-adopting it after a daemon restart. Callers hold the VM's lock.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { ApiError, failedPrecondition } from "../../../api/errors.ts";
import { checkVmSpecOnHost, prepareLaunch, runPaths } from "../../../qemu/launch.ts";
import type { HostInfo } from "../../../qemu/host.ts";
import { NOT_ANSWERING, VmRuntime } from "../../../qemu/runtime.ts";
import type { ProcessRecord } from "../../../store/processes.ts";
import type { StoredVm, VmStore } from "../../../store/vm_store.ts";
import type { DaemonConfig } from "../../config.ts";
import type { Claims } from "../../claims.ts";
import { type LaunchHelpers, type StartFrom, VM } from "../../contracts.ts";
import type { DataLayout } from "../../layout.ts";
import { portFree } from "../../ports.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import { stopByEscalation, type StopStep } from "../../../process/watch.ts";
import { marker } from "../../../process/os.ts";
import { log } from "../../log.ts";
import { now } from "../common.ts";
import type { VmRuntimes } from "./runtimes.ts";

/** The states in which a VM has (or is getting, or losing) a QEMU. */
export const ACTIVE: T.VmState[] = ["STARTING", "RUNNING", "STOPPING"];
export const QEMU = "qemu";
/** What `info.links` of a QEMU record says when its NICs are link-engine sockets. */
export const LINK_DATA_PATH = "engine";
const owner = (id: string) => ({ kind: VM, id });

/** How long a forced stop may take before SIGKILL (QMP quit, then its wait). */
const FORCE_QUIT_MS = 2000;

export class VmRunner {
  /** Set at daemon shutdown: a start cut short then leaves its QEMU to the next daemon. */
  #detached = false;

  constructor(
    private readonly store: VmStore,
    private readonly supervisor: Supervisor,
    private readonly host: HostInfo,
    private readonly config: DaemonConfig,
    private readonly claims: Claims,
    private readonly layout: DataLayout,
    private readonly runtimes: VmRuntimes,
    private readonly helpers: LaunchHelpers,
    /** How a runtime is attached to a launched QEMU; unit tests pass a fake. */
    private readonly attachRuntime: typeof VmRuntime.attach = VmRuntime.attach,
  ) {}

  runtime(id: string): VmRuntime | undefined {
    return this.runtimes.runtime(id);
  }

  setStatus(id: string, patch: Partial<T.VmStatus>): void {
    this.store.patchStatus(id, patch);
  }

  /** Records that QEMU is gone, and why. */
  #exited(id: string, state: "STOPPED" | "CRASHED", reason: string): void {
    const quiet = this.store.get(id)?.status.message === NOT_ANSWERING;
    this.setStatus(id, {
      state,
      pid: 0,
      started_at: "",
      vnc_socket_path: "",
      last_exit_reason: reason,
      ...(quiet ? { message: "" } : {}),
    });
  }

  /**
   * Starts QEMU for a VM (a no-op when it runs), booting it or, with `from`, resuming it
   * from a snapshot's memory. Nothing is left running on failure.
   */
  async start(id: string, from?: StartFrom): Promise<void> {
    if (this.runtime(id)) return;
    const vm = this.store.get(id)!;
    // A QEMU of ours still alive without a runtime is adopted, never doubled.
    const rec = this.supervisor.record(owner(id), QEMU);
    if (rec && this.supervisor.alive(rec) && (await this.#adopt(vm, rec.pid, rec))) return;
    this.setStatus(id, {
      state: "STARTING",
      message: "",
      pid: 0,
      restored_at: "",
      restored_from: "",
    });
    let launched: ProcessRecord | undefined;
    try {
      await checkVmSpecOnHost(vm.spec, this.host, this.config.data_dir);
      const ports = await this.#freshPorts(vm);
      const guest = await this.helpers.prepare(vm, ports);
      // Memory from a snapshot loads only into the machine type it was saved on.
      const spec = from ? { ...vm.spec, machine: from.machine } : vm.spec;
      const prep = await prepareLaunch(
        { id, name: vm.meta.name, spec },
        ports,
        this.layout.vmDir(id),
        this.host,
        guest,
      );
      log.debug("starting qemu", { id, binary: prep.binary, args: prep.args.join(" ") });
      launched = await this.supervisor.launch({
        owner: owner(id),
        role: QEMU,
        binary: prep.binary,
        args: prep.args,
        pidFile: runPaths(this.layout.vmDir(id)).pidFile,
        marker: this.marker(id),
        // The data path its NICs use: a VM started by the previous release lacks it.
        info: { binary: prep.binary, accelerator: prep.accelerator, links: LINK_DATA_PATH },
      });
      const rt = await this.#attach(id, launched.pid);
      if (from) await from.load(rt);
      this.setStatus(id, {
        state: "RUNNING",
        pid: launched.pid,
        accelerator: prep.accelerator,
        qemu_binary: prep.binary,
        started_at: now(),
        message: "",
        vnc_socket_path: vncSocketOf(vm.spec, this.layout.vmDir(id)),
        observed_generation: this.store.get(id)!.meta.generation,
        ssh: guest.ssh ?? null,
      });
      // Started paused (-S) so the console and log miss nothing; now let it run.
      await rt.qmp.execute("cont");
      this.helpers.started(id);
      log.info("vm started", { id, name: vm.meta.name, pid: launched.pid });
    } catch (e) {
      const msg = (e as Error).message;
      if (this.#detached) throw e; // recorded: the next daemon adopts or kills it
      // QEMU may be up (QMP or cont failed): kill it, never leave it unsupervised.
      if (launched) {
        this.runtimes.entry(id)?.detach();
        this.runtimes.delete(id);
        await this.supervisor.reap(launched);
      }
      await this.helpers.released(id).catch((r) =>
        log.error("cannot stop the links of a vm that failed to start", { id, error: String(r) })
      );
      this.setStatus(id, { state: "ERROR", message: msg, pid: 0, started_at: "" });
      log.warn("vm failed to start", { id, error: msg });
      if (e instanceof ApiError) throw e;
      throw failedPrecondition(`vm ${vm.meta.name}: ${msg}`);
    }
  }

  /** What QEMU's arguments carry for this VM and no other process's: its pid file. */
  marker(id: string): string {
    return marker("-pidfile", runPaths(this.layout.vmDir(id)).pidFile);
  }

  /** Port forwards for a start: auto-allocated ones taken meanwhile are replaced. */
  async #freshPorts(vm: StoredVm): Promise<T.PortForward[]> {
    const id = vm.meta.id;
    const ports = this.store.ports(id);
    const busy: T.PortForward[] = [];
    for (const p of ports) if (!(await portFree(p.protocol, p.host_port))) busy.push(p);
    if (busy.length === 0) return ports;
    for (const p of busy) {
      const wanted = vm.spec.network!.port_forwards.find((f) =>
        f.protocol === p.protocol && f.guest_port === p.guest_port
      );
      if (wanted?.host_port) {
        throw failedPrecondition(
          `host port ${p.host_port} is in use on 127.0.0.1 by another program`,
        );
      }
    }
    return await this.claims.run(async () => {
      const keep = ports.filter((o) => !busy.includes(o));
      const next = await this.claims.allocatePorts(vm.spec.network!.port_forwards, keep);
      this.store.updateWithPorts(this.store.get(id)!, next);
      return next;
    });
  }

  async #attach(id: string, pid: number): Promise<VmRuntime> {
    const paths = runPaths(this.layout.vmDir(id));
    const rt = await this.attachRuntime(
      pid,
      { qmp: paths.qmpSocket, serial: paths.serialSocket },
      id,
      // Stored, so that watchers see a QEMU stop answering and come back.
      (ok) => {
        log.warn(ok ? "qemu answers again" : "qemu is not answering", { id, pid });
        const cur = this.store.get(id)?.status.message;
        if (!ok) this.setStatus(id, { message: NOT_ANSWERING });
        else if (cur === NOT_ANSWERING) this.setStatus(id, { message: "" });
      },
    );
    this.runtimes.set(id, rt);
    // Record the exit when it happens, whoever caused it.
    rt.exited.then((info) => {
      this.runtimes.delete(id, rt);
      this.supervisor.forget(owner(id), QEMU);
      void this.helpers.released(id).catch((e) =>
        log.error("cannot stop the links of an exited vm", { id, error: String(e) })
      );
      if (!this.store.get(id)) return;
      this.#exited(id, info.clean ? "STOPPED" : "CRASHED", info.reason);
      log.info("vm exited", { id, clean: info.clean, reason: info.reason });
    });
    return rt;
  }

  /**
   * Graceful: the ACPI power button (pressed again every 3 s), then QMP quit, then
   * SIGKILL. Force: quit, and SIGKILL after 2 s. Returns once QEMU is gone and its
   * exit is recorded; every wait is bounded, so a frozen QEMU cannot hang it.
   */
  async stop(id: string, force: boolean, timeoutSeconds: number, why = "stopped"): Promise<void> {
    const rt = this.runtime(id);
    if (!rt) {
      const rec = this.supervisor.record(owner(id), QEMU);
      if (rec && this.supervisor.alive(rec)) {
        await this.supervisor.reap(rec);
        this.#exited(id, "STOPPED", `${why} (killed: qemu was not supervised)`);
      }
      await this.helpers.released(id);
      return;
    }
    this.setStatus(id, { state: "STOPPING" });
    const graceMs = (timeoutSeconds || this.config.stop_timeout_seconds) * 1000;
    const steps: StopStep[] = [];
    if (!force) {
      const deadline = Date.now() + graceMs;
      steps.push({
        what: "powerdown",
        waitMs: graceMs,
        action: async () => {
          // A guest still booting may have missed the first press (no ACPI handler yet).
          while (rt.running && Date.now() < deadline) {
            await rt.powerdown().catch(() => {});
            await rt.watch.waitExit(Math.min(3000, deadline - Date.now()));
          }
        },
      });
    }
    steps.push({
      what: "quit",
      waitMs: FORCE_QUIT_MS,
      action: () => {
        if (!force) log.warn("guest ignored the power button; quitting qemu", { id });
        rt.stopReason = force ? `${why} (forced)` : `${why} (guest did not power off in time)`;
        return rt.quit();
      },
    });
    if ((await stopByEscalation(rt.watch, steps)) === "SIGKILL") {
      log.warn("qemu did not quit; killed it", { id });
    }
    if (!(await rt.watch.waitExit(5000))) {
      // SIGKILL cannot end a process stuck in the kernel (a hung mount): say so, do not wait.
      throw failedPrecondition(
        `vm ${id}: qemu pid ${rt.pid} did not exit after SIGKILL (stuck in the kernel?)`,
      );
    }
    await rt.exited;
    // The exit handler let the helpers go; this waits until they are gone.
    await this.helpers.released(id);
  }

  /**
   * Re-adopts a VM's QEMU after a restart: attach (the QMP UUID must match), let a
   * launch interrupted before "cont" run, finish an interrupted stop. A QEMU that
   * cannot be adopted is killed, never left running unsupervised. True if adopted.
   */
  async adopt(vm: StoredVm, pid: number | undefined, rec?: ProcessRecord): Promise<boolean> {
    if (pid === undefined) {
      if (rec) this.supervisor.forget(owner(vm.meta.id), QEMU);
      await this.helpers.released(vm.meta.id);
      if (ACTIVE.includes(vm.status.state)) {
        this.#exited(vm.meta.id, "STOPPED", "qemu exited while infrasimd was not running");
        log.info("vm found stopped", { id: vm.meta.id });
      }
      return false;
    }
    return await this.#adopt(vm, pid, rec);
  }

  async #adopt(vm: StoredVm, pid: number, rec?: ProcessRecord): Promise<boolean> {
    const id = vm.meta.id;
    try {
      const rt = await this.#attach(id, pid);
      const st = await rt.qmp.execute<{ status: string }>("query-status");
      this.setStatus(id, {
        state: "RUNNING",
        pid,
        message: "",
        accelerator: rec?.info.accelerator ?? vm.status.accelerator,
        qemu_binary: rec?.info.binary ?? vm.status.qemu_binary,
        started_at: vm.status.started_at || now(),
        vnc_socket_path: vncSocketOf(vm.spec, this.layout.vmDir(id)),
        observed_generation: vm.status.observed_generation || vm.meta.generation,
      });
      log.info("vm re-adopted", { id, pid });
      await this.helpers.adopted(vm).catch((e) =>
        log.error("cannot adopt the links of a vm", { id, error: String(e) })
      );
      if (vm.spec.power_state === "POWER_OFF") {
        await this.stop(id, true, 0, "stopped (a stop interrupted by a daemon restart)");
      } else if (st.status === "prelaunch" || st.status === "paused") {
        // A daemon killed between launch and "cont" leaves QEMU paused.
        await rt.qmp.execute("cont");
      }
      return true;
    } catch (e) {
      const msg = (e as Error).message;
      this.runtimes.entry(id)?.detach();
      this.runtimes.delete(id);
      log.error("vm adoption failed; killing its qemu", { id, pid, error: msg });
      if (rec) await this.supervisor.reap(rec);
      await this.helpers.released(id);
      this.#exited(id, "STOPPED", `killed: qemu pid ${pid} could not be re-adopted (${msg})`);
      return false;
    }
  }

  /** Daemon shutdown: stop watching, leave every QEMU running for the next daemon. */
  detachAll(): void {
    this.#detached = true;
    this.runtimes.detachAll();
  }
}

/** Where a running VM's VNC server listens ("" without a screen). */
function vncSocketOf(spec: T.VmSpec, vmDir: string): string {
  return spec.display === "vnc" ? runPaths(vmDir).vncSocket : "";
}
