// The VM lifecycle: validation, persistence, QEMU launch, stop, adoption after a
// daemon restart, and exit handling. Operations on one VM are serialized.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import type * as T from "../api/gen/types.ts";
import { ApiError, failedPrecondition, invalid, notFound, Status } from "../api/errors.ts";
import {
  type Accelerator,
  type Arch,
  normalizeSpec,
  validateAnnotations,
  validateLabels,
  validateName,
} from "../api/validate.ts";
import { matches, parseSelector } from "../api/labels.ts";
import { buildQemuArgs, type RunPaths } from "../qemu/args.ts";
import { acceleratorProblem, findFirmware, type HostInfo } from "../qemu/host.ts";
import { isAlive, launchDaemonized, processStartTime } from "../qemu/process.ts";
import { type QemuIdentity, type StoredVm, VmStore } from "../store/vm_store.ts";
import type { DaemonConfig } from "./config.ts";
import { checkUserFile, detectDiskFormat } from "../api/host_files.ts";
import { KeyedMutex } from "./mutex.ts";
import { pickPort, portFree } from "./ports.ts";
import { VmRuntime } from "./vm_runtime.ts";
import { log } from "./log.ts";

type FullVm = StoredVm["vm"];

const now = () => new Date().toISOString();
const RUNNING_STATES: T.VmState[] = ["STARTING", "RUNNING", "STOPPING"];

export class VmManager {
  readonly store: VmStore;
  #runtimes = new Map<string, VmRuntime>();
  #locks = new KeyedMutex();

  constructor(
    db: DatabaseSync,
    readonly config: DaemonConfig,
    readonly host: HostInfo,
  ) {
    this.store = new VmStore(db);
  }

  // ------------------------------------------------------------------ paths

  vmDir(id: string): string {
    return join(this.config.data_dir, "vms", id);
  }

  runPaths(id: string): RunPaths {
    const d = this.vmDir(id);
    return {
      qmpSocket: join(d, "qmp.sock"),
      serialSocket: join(d, "serial.sock"),
      serialLog: join(d, "serial.log"),
      pidFile: join(d, "qemu.pid"),
      firmwareVars: join(d, "efivars.fd"),
    };
  }

  // ------------------------------------------------------------------ lookup

  /** Finds a VM by id or name. */
  find(ref: string, field = "ref"): StoredVm {
    if (!ref) throw invalid(field, "must name a VM (id or name)");
    const s = this.store.get(ref) ?? this.store.getByName(ref);
    if (!s) throw notFound(`vm ${JSON.stringify(ref)} not found`);
    return s;
  }

  get(ref: string): FullVm {
    return this.find(ref).vm;
  }

  list(selector: string): FullVm[] {
    const reqs = parseSelector(selector);
    return this.store.list().map((s) => s.vm).filter((vm) => matches(reqs, vm.meta.labels));
  }

  runtime(id: string): VmRuntime | undefined {
    return this.#runtimes.get(id);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = { total: 0 };
    for (const { vm } of this.store.list()) {
      counts[vm.status.state] = (counts[vm.status.state] ?? 0) + 1;
      counts.total++;
    }
    return counts;
  }

  // ------------------------------------------------------------------ validation

  /** Validates a spec against the host: files exist, the arch has a QEMU, firmware. */
  #checkSpec(spec: T.VmSpec): void {
    const arch = spec.arch as Arch;
    if (!this.host.binaries[arch]) {
      throw invalid("spec.arch", `no qemu-system-${arch} found on this host`);
    }
    const dd = this.config.data_dir;
    const k = spec.boot?.kernel;
    if (k) {
      checkUserFile(k.kernel_path, "spec.boot.kernel.kernel_path", dd);
      if (k.initrd_path) checkUserFile(k.initrd_path, "spec.boot.kernel.initrd_path", dd);
    }
    const d = spec.boot?.disk;
    if (d) {
      checkUserFile(d.path, "spec.boot.disk.path", dd, { writable: true });
      if (d.firmware_path) checkUserFile(d.firmware_path, "spec.boot.disk.firmware_path", dd);
    }
    if (!k && !d?.firmware_path && !findFirmware(arch, this.host.binaries[arch]?.path)) {
      throw invalid(
        "spec.boot",
        `UEFI boot needs edk2 firmware for ${arch}, and none was found (install ovmf / qemu-efi-aarch64)`,
      );
    }
    spec.disks.forEach((x, i) =>
      checkUserFile(x.path, `spec.disks[${i}].path`, dd, { writable: !x.read_only })
    );
    const problem = spec.accelerator &&
      acceleratorProblem(spec.accelerator as Accelerator, arch, this.host.kvm);
    if (problem) throw invalid("spec.accelerator", problem);
  }

  /**
   * Resolves port forwards to host ports: keeps ports already held for the same
   * guest port, allocates where host_port is 0, and refuses ports held by others.
   */
  async #allocatePorts(
    forwards: T.PortForward[],
    held: T.PortForward[],
  ): Promise<T.PortForward[]> {
    const chosen: T.PortForward[] = [];
    const mine = new Set(held.map((p) => `${p.protocol}/${p.host_port}`));
    for (const [i, p] of forwards.entries()) {
      const field = `spec.network.port_forwards[${i}].host_port`;
      if (p.host_port) {
        const owner = this.store.portOwner(p.protocol, p.host_port);
        if (owner !== undefined && !mine.has(`${p.protocol}/${p.host_port}`)) {
          throw invalid(field, `port ${p.host_port} is already forwarded by VM "${owner}"`);
        }
        if (
          !mine.has(`${p.protocol}/${p.host_port}`) && !(await portFree(p.protocol, p.host_port))
        ) {
          throw invalid(field, `port ${p.host_port} is in use on 127.0.0.1`);
        }
        chosen.push({ ...p });
        continue;
      }
      const prev = held.find((h) => h.protocol === p.protocol && h.guest_port === p.guest_port);
      if (prev) {
        chosen.push({ ...p, host_port: prev.host_port });
        continue;
      }
      const taken = (port: number) =>
        chosen.some((c) => c.protocol === p.protocol && c.host_port === port) ||
        forwards.some((f) => f.protocol === p.protocol && f.host_port === port) ||
        this.store.portOwner(p.protocol, port) !== undefined;
      const port = await pickPort(
        p.protocol,
        this.config.ports.range_start,
        this.config.ports.range_end,
        taken,
      );
      if (port === undefined) {
        throw new ApiError(
          Status.RESOURCE_EXHAUSTED,
          `${field}: no free port in the configured range`,
        );
      }
      chosen.push({ ...p, host_port: port });
    }
    return chosen;
  }

  // ------------------------------------------------------------------ create / update / delete

  async create(req: T.CreateVmRequest): Promise<FullVm> {
    const name = validateName(req.meta?.name, "meta.name");
    const labels = { ...(req.meta?.labels ?? {}) };
    const annotations = { ...(req.meta?.annotations ?? {}) };
    validateLabels(labels, "meta.labels");
    validateAnnotations(annotations, "meta.annotations");
    const spec = normalizeSpec(req.spec);
    this.#checkSpec(spec);
    const id = randomUUID();
    // Names and ports are claimed under one lock so concurrent creates cannot collide.
    await this.#locks.run("__create__", async () => {
      if (this.store.getByName(name)) {
        throw new ApiError(Status.ALREADY_EXISTS, `meta.name: a VM named "${name}" already exists`);
      }
      const ports = await this.#allocatePorts(spec.network!.port_forwards, []);
      const t = now();
      const vm: FullVm = {
        meta: { id, name, labels, annotations, created_at: t, updated_at: t, generation: 1 },
        spec,
        status: emptyStatus("PENDING", this.runPaths(id).serialLog),
      };
      mkdirSync(this.vmDir(id), { recursive: true, mode: 0o700 });
      this.store.insert(vm, ports);
    });
    log.info("vm created", { id, name });
    if (spec.power_state === "POWER_ON") {
      try {
        return await this.#locks.run(id, () => this.#start(id));
      } catch (e) {
        log.warn("vm failed to start after create", { id, error: (e as Error).message });
        return this.get(id);
      }
    }
    return this.get(id);
  }

  update(req: T.UpdateVmRequest): Promise<FullVm> {
    const { vm: current } = this.find(req.ref);
    return this.#locks.run(current.meta.id, async () => {
      const { vm: cur } = this.find(current.meta.id);
      if (req.expected_generation && req.expected_generation !== cur.meta.generation) {
        throw new ApiError(
          Status.ABORTED,
          `expected_generation: VM is at generation ${cur.meta.generation}, not ${req.expected_generation}`,
        );
      }
      if (req.meta?.name && req.meta.name !== cur.meta.name) {
        throw invalid("meta.name", "cannot be changed; create a new VM instead");
      }
      // Without meta, labels and annotations stay as they are.
      const labels = { ...(req.meta ? req.meta.labels ?? {} : cur.meta.labels) };
      const annotations = { ...(req.meta ? req.meta.annotations ?? {} : cur.meta.annotations) };
      validateLabels(labels, "meta.labels");
      validateAnnotations(annotations, "meta.annotations");
      const spec = normalizeSpec(req.spec);
      // An unspecified power state keeps the current one.
      if (!req.spec?.power_state || req.spec.power_state === "POWER_STATE_UNSPECIFIED") {
        spec.power_state = cur.spec.power_state;
      }
      if (spec.arch !== cur.spec.arch) {
        throw invalid("spec.arch", "cannot be changed; create a new VM instead");
      }
      this.#checkSpec(spec);
      await this.#locks.run(
        "__create__",
        async () => {
          const p = await this.#allocatePorts(
            spec.network!.port_forwards,
            this.store.ports(cur.meta.id),
          );
          const changed = JSON.stringify(spec) !== JSON.stringify(cur.spec) ||
            JSON.stringify(labels) !== JSON.stringify(cur.meta.labels) ||
            JSON.stringify(annotations) !== JSON.stringify(cur.meta.annotations);
          const next: FullVm = {
            ...cur,
            meta: {
              ...cur.meta,
              labels,
              annotations,
              updated_at: changed ? now() : cur.meta.updated_at,
              generation: changed ? cur.meta.generation + 1 : cur.meta.generation,
            },
            spec,
          };
          this.store.update(next, p);
        },
      );
      const hwChanged = JSON.stringify({ ...spec, power_state: "" }) !==
        JSON.stringify({ ...cur.spec, power_state: "" });
      const rt = this.#runtimes.get(cur.meta.id);
      if (rt?.running) {
        if (spec.power_state === "POWER_OFF") await this.#stop(cur.meta.id, false, 0);
        else if (hwChanged) {
          // QEMU cannot change CPUs, memory, disks or forwards of a running VM: restart it.
          await this.#stop(cur.meta.id, false, 0);
          await this.#start(cur.meta.id);
        }
      } else if (spec.power_state === "POWER_ON") {
        await this.#start(cur.meta.id);
      }
      return this.get(cur.meta.id);
    });
  }

  delete(ref: string): Promise<string> {
    const { vm } = this.find(ref);
    const id = vm.meta.id;
    return this.#locks.run(id, async () => {
      if (!this.store.get(id)) throw notFound(`vm ${JSON.stringify(ref)} not found`);
      await this.#stop(id, true, 0, "deleted");
      this.store.delete(id);
      rmSync(this.vmDir(id), { recursive: true, force: true });
      log.info("vm deleted", { id, name: vm.meta.name });
      return id;
    });
  }

  // ------------------------------------------------------------------ power

  start(ref: string): Promise<FullVm> {
    const id = this.find(ref).vm.meta.id;
    return this.#locks.run(id, async () => {
      this.#setPowerState(id, "POWER_ON");
      return await this.#start(id);
    });
  }

  stop(ref: string, force: boolean, timeoutSeconds: number): Promise<FullVm> {
    const id = this.find(ref).vm.meta.id;
    return this.#locks.run(id, async () => {
      this.#setPowerState(id, "POWER_OFF");
      await this.#stop(id, force, timeoutSeconds);
      return this.get(id);
    });
  }

  restart(ref: string, force: boolean, timeoutSeconds: number): Promise<FullVm> {
    const id = this.find(ref).vm.meta.id;
    return this.#locks.run(id, async () => {
      this.#setPowerState(id, "POWER_ON");
      await this.#stop(id, force, timeoutSeconds, "restarted");
      return await this.#start(id);
    });
  }

  /** Imperative start/stop also move the desired state, so spec and reality agree. */
  #setPowerState(id: string, ps: T.PowerState): void {
    const { vm } = this.find(id);
    if (vm.spec.power_state === ps) return;
    this.store.update({
      ...vm,
      spec: { ...vm.spec, power_state: ps },
      meta: { ...vm.meta, generation: vm.meta.generation + 1, updated_at: now() },
    });
  }

  #setStatus(id: string, patch: Partial<T.VmStatus>, identity?: QemuIdentity | null): void {
    const s = this.store.get(id);
    if (!s) return;
    const status = { ...s.vm.status, ...patch };
    this.store.setStatus(id, status, identity === undefined ? s.identity : identity);
  }

  async #start(id: string): Promise<FullVm> {
    const { vm, identity } = this.find(id);
    if (this.#runtimes.get(id)?.running) return vm;
    if (identity && sameProcess(identity)) {
      throw failedPrecondition(
        `vm ${vm.meta.name}: its qemu (pid ${identity.pid}) is still running unsupervised; stop it with \`infrasim vm stop --force\``,
      );
    }
    const spec = vm.spec;
    const arch = spec.arch as Arch;
    const paths = this.runPaths(id);
    this.#setStatus(id, { state: "STARTING", message: "", pid: 0 }, null);
    try {
      this.#checkSpec(spec);
      const binary = this.host.binaries[arch]!.path;
      const accelerator = (spec.accelerator || this.host.accelerators[arch]) as Accelerator;
      // Re-check forwarded ports: auto-allocated ones taken meanwhile are replaced.
      let ports = this.store.ports(id);
      const busy: T.PortForward[] = [];
      for (const p of ports) if (!(await portFree(p.protocol, p.host_port))) busy.push(p);
      if (busy.length > 0) {
        for (const p of busy) {
          const wanted = spec.network!.port_forwards.find((f) =>
            f.protocol === p.protocol && f.guest_port === p.guest_port
          );
          if (wanted?.host_port) {
            throw failedPrecondition(
              `host port ${p.host_port} is in use on 127.0.0.1 by another program`,
            );
          }
        }
        const keep = ports.filter((o) => !busy.includes(o));
        ports = await this.#locks.run("__create__", async () => {
          const next = await this.#allocatePorts(spec.network!.port_forwards, keep);
          this.store.update(this.find(id).vm, next);
          return next;
        });
      }
      mkdirSync(this.vmDir(id), { recursive: true, mode: 0o700 });
      for (const f of [paths.qmpSocket, paths.serialSocket, paths.pidFile]) {
        rmSync(f, { force: true });
      }
      let firmwareCode: string | undefined;
      if (!spec.boot?.kernel) {
        const fw = spec.boot?.disk?.firmware_path
          ? { code: spec.boot.disk.firmware_path, vars: "" }
          : findFirmware(arch, binary)!;
        firmwareCode = fw.code;
        if (!existsSync(paths.firmwareVars)) {
          if (fw.vars) copyFileSync(fw.vars, paths.firmwareVars);
          else writeFileSync(paths.firmwareVars, new Uint8Array(statSync(fw.code).size));
          chmodSync(paths.firmwareVars, 0o600);
        }
      }
      const diskFormats: Record<string, string> = {};
      for (const p of [spec.boot?.disk?.path, ...spec.disks.map((d) => d.path)]) {
        if (p) diskFormats[p] = detectDiskFormat(p);
      }
      const args = buildQemuArgs({
        id,
        name: vm.meta.name,
        spec,
        accelerator,
        ports,
        paths,
        firmwareCode,
        supervised: true,
        diskFormats,
      });
      log.debug("starting qemu", { id, binary, args: args.join(" ") });
      const pid = await launchDaemonized(binary, args, paths.pidFile);
      let rt: VmRuntime;
      try {
        rt = await VmRuntime.attach(pid, { qmp: paths.qmpSocket, serial: paths.serialSocket }, id);
      } catch (e) {
        try {
          process.kill(pid, "SIGKILL");
        } catch { /* gone */ }
        throw e;
      }
      const identity: QemuIdentity = {
        pid,
        startTime: processStartTime(pid),
        binary,
        accelerator,
      };
      this.#watch(id, rt);
      this.#setStatus(id, {
        state: "RUNNING",
        pid,
        accelerator,
        qemu_binary: binary,
        started_at: now(),
        message: "",
        observed_generation: this.find(id).vm.meta.generation,
      }, identity);
      // Started paused (-S) so the console and log miss nothing; now let it run.
      await rt.qmp.execute("cont");
      log.info("vm started", { id, name: vm.meta.name, pid, accelerator });
      return this.get(id);
    } catch (e) {
      const msg = e instanceof ApiError ? e.message : (e as Error).message;
      this.#setStatus(id, { state: "ERROR", message: msg, pid: 0 }, null);
      log.warn("vm failed to start", { id, error: msg });
      if (e instanceof ApiError) throw e;
      throw failedPrecondition(`vm ${vm.meta.name}: ${msg}`);
    }
  }

  /** Records the exit of a supervised QEMU when it happens, whoever caused it. */
  #watch(id: string, rt: VmRuntime): void {
    this.#runtimes.set(id, rt);
    rt.exited.then((info) => {
      if (this.#runtimes.get(id) === rt) this.#runtimes.delete(id);
      if (!this.store.get(id)) return;
      this.#setStatus(id, {
        state: info.clean ? "STOPPED" : "CRASHED",
        pid: 0,
        started_at: "",
        last_exit_reason: info.reason,
      }, null);
      log.info("vm exited", { id, clean: info.clean, reason: info.reason });
    });
  }

  /**
   * Graceful: ACPI power button, wait, then QMP quit, then SIGKILL. Force: quit
   * and kill at once. Returns when QEMU is gone and the exit is recorded.
   */
  async #stop(id: string, force: boolean, timeoutSeconds: number, why = "stopped"): Promise<void> {
    const rt = this.#runtimes.get(id);
    if (!rt?.running) {
      // A QEMU that could not be re-adopted has no QMP: all we can do is kill it.
      const identity = this.store.get(id)?.identity;
      if (identity && sameProcess(identity)) {
        process.kill(identity.pid, "SIGKILL");
        for (let i = 0; i < 100 && isAlive(identity.pid); i++) await sleep(50);
        this.#setStatus(id, {
          state: "STOPPED",
          pid: 0,
          started_at: "",
          last_exit_reason: `${why} (killed: qemu was not supervised)`,
        }, null);
      }
      return;
    }
    this.#setStatus(id, { state: "STOPPING" });
    const timeout = (timeoutSeconds || this.config.stop_timeout_seconds) * 1000;
    if (!force) {
      // Press the button again every few seconds: a guest still booting may have
      // missed the first press (its ACPI handler was not up yet).
      const deadline = Date.now() + timeout;
      while (Date.now() < deadline) {
        await rt.powerdown().catch(() => {});
        if (await rt.waitExit(Math.min(3000, deadline - Date.now()))) return;
      }
      log.warn("guest ignored the power button; quitting qemu", { id });
    }
    rt.stopReason = force ? `${why} (forced)` : `${why} (guest did not power off in time)`;
    await rt.quit();
    if (!(await rt.waitExit(3000))) rt.kill();
    await rt.exited;
  }

  // ------------------------------------------------------------------ daemon lifecycle

  /**
   * Re-adopts VMs whose QEMU is still running after a daemon restart. A QEMU is
   * adopted only if its pid is alive, its start time matches and its QMP socket
   * answers with the VM's UUID; nothing is ever started here.
   */
  async adoptAll(): Promise<void> {
    for (const { vm, identity } of this.store.list()) {
      const id = vm.meta.id;
      // Also retry VMs whose QEMU an earlier daemon could not adopt (ERROR + identity).
      if (!RUNNING_STATES.includes(vm.status.state) && !identity) continue;
      const paths = this.runPaths(id);
      if (!identity || !sameProcess(identity)) {
        this.#setStatus(id, {
          state: "STOPPED",
          pid: 0,
          started_at: "",
          last_exit_reason: "qemu exited while infrasimd was not running",
        }, null);
        log.info("vm found stopped", { id });
        continue;
      }
      try {
        const rt = await VmRuntime.attach(
          identity.pid,
          { qmp: paths.qmpSocket, serial: paths.serialSocket },
          id,
        );
        this.#watch(id, rt);
        // A daemon killed between launch and "cont" leaves QEMU paused.
        const st = await rt.qmp.execute<{ status: string }>("query-status");
        if (st.status === "prelaunch" || st.status === "paused") await rt.qmp.execute("cont");
        this.#setStatus(id, { state: "RUNNING", message: "" });
        log.info("vm re-adopted", { id, pid: identity.pid });
      } catch (e) {
        this.#setStatus(id, {
          state: "ERROR",
          message: `qemu pid ${identity.pid} is alive but cannot be adopted: ${
            (e as Error).message
          }`,
        });
        log.error("vm adoption failed", { id, error: (e as Error).message });
      }
    }
  }

  /** Daemon shutdown: stop watching, leave every QEMU running for the next daemon. */
  detachAll(): void {
    for (const rt of this.#runtimes.values()) rt.detach();
    this.#runtimes.clear();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The persisted QEMU is still the same process (pid alive, same start time). */
function sameProcess(identity: QemuIdentity): boolean {
  return isAlive(identity.pid) &&
    (!identity.startTime || processStartTime(identity.pid) === identity.startTime);
}

function emptyStatus(state: T.VmState, serialLog: string): T.VmStatus {
  return {
    state,
    accelerator: "",
    pid: 0,
    last_exit_reason: "",
    serial_log_path: serialLog,
    port_forwards: [],
    started_at: "",
    message: "",
    observed_generation: 0,
    qemu_binary: "",
  };
}
