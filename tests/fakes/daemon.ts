// Fakes of the daemon's collaborators, for unit tests of one controller at a time: the
// real stores on a temporary SQLite file, and recording stand-ins for whatever runs
// processes (QEMU, links, switches) or coordinates kinds.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import type { DatabaseSync } from "node:sqlite";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { normalizeVmSpec } from "../../src/api/validate/vm.ts";
import { openDatabase } from "../../src/store/db.ts";
import { type Change, ChangeFeed } from "../../src/store/feed.ts";
import { ImageStore } from "../../src/store/image_store.ts";
import { NetworkStore } from "../../src/store/network_store.ts";
import { type Owner, type ProcessRecord, ProcessStore } from "../../src/store/processes.ts";
import { RefStore } from "../../src/store/refs.ts";
import { VmStore } from "../../src/store/vm_store.ts";
import { VolumeStore } from "../../src/store/volume_store.ts";
import { Claims } from "../../src/daemon/claims.ts";
import { defaults } from "../../src/daemon/config.ts";
import { KeyedMutex } from "../../src/daemon/locks.ts";
import { DataLayout } from "../../src/daemon/layout.ts";
import { StatusProjections } from "../../src/daemon/controllers/projections.ts";
import type { LaunchSpec, Supervisor } from "../../src/daemon/supervisor/supervisor.ts";
import type { HostInfo } from "../../src/qemu/host.ts";
import { isAlive } from "../../src/process/os.ts";

/** The stores of a fresh data dir, the feed's changes as they are published, and claims. */
export class Stores {
  readonly dir = mkdtempSync("/tmp/isd-unit-");
  readonly db: DatabaseSync = openDatabase(join(this.dir, "state.db"));
  readonly feed = new ChangeFeed(this.db);
  readonly vms = new VmStore(this.db, this.feed);
  readonly images = new ImageStore(this.db, this.feed);
  readonly volumes = new VolumeStore(this.db, this.feed);
  readonly networks = new NetworkStore(this.db, this.feed);
  readonly refs = new RefStore(this.db);
  readonly processes = new ProcessStore(this.db);
  readonly locks = new KeyedMutex();
  readonly config = { ...defaults(), data_dir: this.dir };
  readonly layout = new DataLayout(this.dir);
  readonly claims = new Claims(
    this.locks,
    this.config.ports,
    (p, port) => this.vms.portOwner(p, port),
  );
  readonly projections = new StatusProjections(this.refs, this.vms, this.volumes, this.networks);
  readonly changes: Change[] = [];
  readonly nameOf = (_kind: string, id: string) =>
    (this.vms.get(id) ?? this.volumes.get(id) ?? this.networks.get(id))?.meta.name ?? id;

  constructor() {
    this.feed.subscribe((c) => this.changes.push(c));
  }

  /** "TYPE KIND name" of every change published so far. */
  said(): string[] {
    return this.changes.map((c) => `${c.type} ${c.kind} ${c.object.meta.name}`);
  }

  close(): void {
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A stopped x86_64 VM booted from a kernel (a file that exists: nothing runs it). */
export function kernelSpec(extra: Partial<T.VmSpec> = {}): T.VmSpec {
  return normalizeVmSpec({
    arch: "x86_64",
    machine: "",
    cpu_cores: 1,
    memory_mb: 256,
    boot: { kernel: { kernel_path: "/etc/hostname", initrd_path: "", cmdline: "" } },
    disks: [],
    network: { mode: "none", port_forwards: [] },
    volumes: [],
    network_interfaces: [],
    accelerator: "",
    power_state: "POWER_OFF",
    ...extra,
  });
}

/** A host with QEMU for x86_64 (a binary that is never run by these tests). */
export const HOST: HostInfo = {
  binaries: { x86_64: { path: "/bin/true", version: "fake" } },
  accelerators: { x86_64: "tcg", aarch64: "tcg" },
  kvm: false,
};

/**
 * A supervisor whose processes are `sleep` children: launched, watched, killed like the
 * real ones (ProcessWatch polls their pids), without vde or QEMU.
 */
export class SleepSupervisor {
  readonly launched: LaunchSpec[] = [];
  readonly reaped: ProcessRecord[] = [];
  constructor(readonly store: ProcessStore) {}

  launch(spec: LaunchSpec): Promise<ProcessRecord> {
    this.launched.push(spec);
    const child = spawn("sleep", ["300"], { stdio: "ignore", detached: true });
    child.unref();
    const rec: ProcessRecord = {
      owner: spec.owner,
      role: spec.role,
      pid: child.pid!,
      startTime: "",
      marker: spec.marker,
      pidFile: spec.pidFile,
      info: spec.info ?? {},
      launchedAt: new Date().toISOString(),
    };
    this.store.put(rec);
    return Promise.resolve(rec);
  }
  record(owner: Owner, role: string) {
    return this.store.get(owner, role);
  }
  alive(rec: ProcessRecord | undefined): boolean {
    return !!rec && isAlive(rec.pid);
  }
  reap(rec: ProcessRecord): Promise<void> {
    this.reaped.push(rec);
    try {
      process.kill(rec.pid, "SIGKILL");
    } catch { /* gone */ }
    this.store.forget(rec.owner, rec.role);
    return Promise.resolve();
  }
  forget(owner: Owner, role: string): void {
    this.store.forget(owner, role);
  }
  resolveAll(recs: ProcessRecord[]) {
    return Promise.resolve(new Map(recs.map((r) => [r, this.alive(r) ? r.pid : undefined])));
  }
  asSupervisor(): Supervisor {
    return this as unknown as Supervisor;
  }
}
