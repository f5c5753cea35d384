// Persistence of VMs and their port allocations. The daemon is the only writer;
// every multi-row change runs in one transaction.
import type { DatabaseSync } from "node:sqlite";
import type { PortForward, Vm, VmSpec, VmStatus } from "../api/gen/types.ts";
import { transaction } from "./db.ts";

/** What identifies a running QEMU, persisted so a restarted daemon can re-adopt it. */
export interface QemuIdentity {
  pid: number;
  /** Process start time (Linux: /proc/<pid>/stat field 22), "" where unknown. */
  startTime: string;
  binary: string;
  accelerator: string;
}

interface Row {
  id: string;
  name: string;
  labels: string;
  annotations: string;
  spec: string;
  status: string;
  created_at: string;
  updated_at: string;
  generation: number;
  qemu_identity: string | null;
}

export interface StoredVm {
  vm: Vm & { meta: NonNullable<Vm["meta"]>; spec: VmSpec; status: VmStatus };
  identity: QemuIdentity | null;
}

export class VmStore {
  constructor(private readonly db: DatabaseSync) {}

  #fromRow(r: Row): StoredVm {
    const status = JSON.parse(r.status) as VmStatus;
    status.port_forwards = this.ports(r.id);
    return {
      vm: {
        meta: {
          id: r.id,
          name: r.name,
          labels: JSON.parse(r.labels),
          annotations: JSON.parse(r.annotations),
          created_at: r.created_at,
          updated_at: r.updated_at,
          generation: r.generation,
        },
        spec: JSON.parse(r.spec),
        status,
      },
      identity: r.qemu_identity ? JSON.parse(r.qemu_identity) : null,
    };
  }

  get(id: string): StoredVm | undefined {
    const r = this.db.prepare("SELECT * FROM vms WHERE id = ?").get(id) as Row | undefined;
    return r && this.#fromRow(r);
  }

  getByName(name: string): StoredVm | undefined {
    const r = this.db.prepare("SELECT * FROM vms WHERE name = ?").get(name) as Row | undefined;
    return r && this.#fromRow(r);
  }

  list(): StoredVm[] {
    const rows = this.db.prepare("SELECT * FROM vms ORDER BY name").all() as unknown as Row[];
    return rows.map((r) => this.#fromRow(r));
  }

  /** Inserts a VM with its port allocations; throws on a duplicate name or port. */
  insert(vm: StoredVm["vm"], ports: PortForward[]): void {
    transaction(this.db, () => {
      const m = vm.meta;
      this.db.prepare(
        `INSERT INTO vms (id, name, labels, annotations, spec, status, created_at, updated_at, generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        m.id,
        m.name,
        JSON.stringify(m.labels),
        JSON.stringify(m.annotations),
        JSON.stringify(vm.spec),
        JSON.stringify({ ...vm.status, port_forwards: [] }),
        m.created_at,
        m.updated_at,
        m.generation,
      );
      this.#insertPorts(m.id, ports);
    });
  }

  /** Replaces meta/spec (and optionally the port allocations) of an existing VM. */
  update(vm: StoredVm["vm"], ports?: PortForward[]): void {
    transaction(this.db, () => {
      const m = vm.meta;
      this.db.prepare(
        `UPDATE vms SET labels = ?, annotations = ?, spec = ?, updated_at = ?, generation = ? WHERE id = ?`,
      ).run(
        JSON.stringify(m.labels),
        JSON.stringify(m.annotations),
        JSON.stringify(vm.spec),
        m.updated_at,
        m.generation,
        m.id,
      );
      if (ports) {
        this.db.prepare("DELETE FROM port_allocations WHERE vm_id = ?").run(m.id);
        this.#insertPorts(m.id, ports);
      }
    });
  }

  setStatus(id: string, status: VmStatus, identity: QemuIdentity | null): void {
    this.db.prepare("UPDATE vms SET status = ?, qemu_identity = ? WHERE id = ?").run(
      JSON.stringify({ ...status, port_forwards: [] }),
      identity ? JSON.stringify(identity) : null,
      id,
    );
  }

  delete(id: string): void {
    this.db.prepare("DELETE FROM vms WHERE id = ?").run(id);
  }

  ports(id: string): PortForward[] {
    return (this.db.prepare(
      "SELECT protocol, host_port, guest_port FROM port_allocations WHERE vm_id = ? ORDER BY rowid",
    ).all(id) as unknown as PortForward[]).map((p) => ({ ...p }));
  }

  /** The VM holding a host port, if any. */
  portOwner(protocol: string, hostPort: number): string | undefined {
    const r = this.db.prepare(
      "SELECT v.name AS name FROM port_allocations p JOIN vms v ON v.id = p.vm_id WHERE protocol = ? AND host_port = ?",
    ).get(protocol, hostPort) as { name: string } | undefined;
    return r?.name;
  }

  #insertPorts(vmId: string, ports: PortForward[]): void {
    const stmt = this.db.prepare(
      "INSERT INTO port_allocations (protocol, host_port, guest_port, vm_id) VALUES (?, ?, ?, ?)",
    );
    for (const p of ports) stmt.run(p.protocol, p.host_port, p.guest_port, vmId);
  }
}
