// References between objects (a VM uses a volume, a volume an image, a VM is on a
// network), so that deleting an object in use can be refused naming its users.
import type { DatabaseSync } from "node:sqlite";
import { transaction } from "./db.ts";
import type { Owner } from "./processes.ts";

export interface Ref {
  /** The referring object's field, e.g. "spec.boot_volume". */
  field: string;
  kind: string;
  id: string;
}

export interface User extends Owner {
  field: string;
}

export class RefStore {
  constructor(private readonly db: DatabaseSync) {}

  /** Replaces everything an object refers to. */
  set(from: Owner, refs: Ref[]): void {
    transaction(this.db, () => {
      this.clear(from);
      const stmt = this.db.prepare(
        "INSERT OR IGNORE INTO refs (from_kind, from_id, field, to_kind, to_id) VALUES (?, ?, ?, ?, ?)",
      );
      for (const r of refs) stmt.run(from.kind, from.id, r.field, r.kind, r.id);
    });
  }

  /** Drops everything an object refers to (it is being deleted). */
  clear(from: Owner): void {
    this.db.prepare("DELETE FROM refs WHERE from_kind = ? AND from_id = ?").run(from.kind, from.id);
  }

  /** The objects one refers to (each once). */
  targetsOf(from: Owner): Owner[] {
    const rows = this.db.prepare(
      "SELECT DISTINCT to_kind, to_id FROM refs WHERE from_kind = ? AND from_id = ? ORDER BY to_kind, to_id",
    ).all(from.kind, from.id) as unknown as Array<{ to_kind: string; to_id: string }>;
    return rows.map((r) => ({ kind: r.to_kind, id: r.to_id }));
  }

  /** The objects that refer to one, with the field they refer through. */
  usersOf(to: Owner): User[] {
    const rows = this.db.prepare(
      "SELECT from_kind, from_id, field FROM refs WHERE to_kind = ? AND to_id = ? ORDER BY from_kind, from_id",
    ).all(to.kind, to.id) as unknown as Array<
      { from_kind: string; from_id: string; field: string }
    >;
    return rows.map((r) => ({ kind: r.from_kind, id: r.from_id, field: r.field }));
  }
}
