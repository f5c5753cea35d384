// VMs and their host port allocations. The unique (protocol, host_port) key means two
// VMs can never hold the same port.
import type { DatabaseSync } from "node:sqlite";
import type { PortForward, VmSpec, VmStatus } from "../api/gen/infrasim.v1.ts";
import { transaction } from "./db.ts";
import type { ChangeFeed } from "./feed.ts";
import { type ObjectRow, ObjectStore, type StoredObject } from "./objects.ts";

export type StoredVm = StoredObject<VmSpec, VmStatus>;

export class VmStore extends ObjectStore<VmSpec, VmStatus> {
  constructor(db: DatabaseSync, feed: ChangeFeed) {
    super(db, "vms", "VM", feed);
  }

  protected override fromRow(r: ObjectRow, ports?: PortForward[]): StoredVm {
    const o = super.fromRow(r);
    o.status.port_forwards = ports ?? this.ports(r.id);
    return o;
  }

  protected override statusJson(status: VmStatus): string {
    return JSON.stringify({ ...status, port_forwards: [] });
  }

  /** Every VM, with its ports read in one query. */
  override list(): StoredVm[] {
    const rows = this.db.prepare("SELECT * FROM vms ORDER BY name").all() as unknown as ObjectRow[];
    const all = this.db.prepare(
      "SELECT vm_id, protocol, host_port, guest_port FROM port_allocations ORDER BY rowid",
    ).all() as unknown as Array<PortForward & { vm_id: string }>;
    const byVm = new Map<string, PortForward[]>();
    for (const { vm_id, ...p } of all) {
      if (!byVm.has(vm_id)) byVm.set(vm_id, []);
      byVm.get(vm_id)!.push(p);
    }
    return rows.map((r) => this.fromRow(r, byVm.get(r.id) ?? []));
  }

  /** Inserts a VM with its port allocations; throws on a duplicate name or port. */
  insertWithPorts(vm: StoredVm, ports: PortForward[]): void {
    transaction(this.db, () => {
      this.insertRow(vm);
      this.#insertPorts(vm.meta.id, ports);
      this.publish(vm.meta.id, "ADDED");
    });
  }

  /** Replaces meta/spec and, when given, the port allocations. */
  updateWithPorts(vm: StoredVm, ports?: PortForward[]): void {
    transaction(this.db, () => {
      let changed = this.updateRow(vm);
      if (ports && portKeys(ports) !== portKeys(this.ports(vm.meta.id))) {
        this.db.prepare("DELETE FROM port_allocations WHERE vm_id = ?").run(vm.meta.id);
        this.#insertPorts(vm.meta.id, ports);
        changed = true;
      }
      if (changed) this.publish(vm.meta.id, "MODIFIED");
    });
  }

  ports(id: string): PortForward[] {
    return (this.db.prepare(
      "SELECT protocol, host_port, guest_port FROM port_allocations WHERE vm_id = ? ORDER BY rowid",
    ).all(id) as unknown as PortForward[]).map((p) => ({ ...p }));
  }

  /** The name of the VM holding a host port, if any. */
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

const portKeys = (ports: PortForward[]) =>
  ports.map((p) => `${p.protocol}/${p.host_port}/${p.guest_port}`).join(",");
