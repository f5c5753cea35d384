// Persistence of any object kind: one table per kind with the standard columns (meta
// as columns, spec and status as JSON). Every write records its change in the feed in
// the same transaction, with the object as a reader would get it. A kind's store adds
// only what is its own.
import type { DatabaseSync } from "node:sqlite";
import { transaction } from "./db.ts";
import type { ChangeFeed, ChangeType } from "./feed.ts";
import type { StoredObject } from "./object.ts";

export type { Meta, StoredObject } from "./object.ts";

export interface ObjectRow {
  id: string;
  name: string;
  labels: string;
  annotations: string;
  spec: string;
  status: string;
  created_at: string;
  updated_at: string;
  generation: number;
  resource_version: number;
}

export class ObjectStore<S, St> {
  constructor(
    protected readonly db: DatabaseSync,
    readonly table: string,
    /** The kind's name in the feed and in references, e.g. "VM". */
    readonly kind: string,
    protected readonly feed: ChangeFeed,
  ) {}

  protected fromRow(r: ObjectRow): StoredObject<S, St> {
    return {
      meta: {
        id: r.id,
        name: r.name,
        labels: JSON.parse(r.labels),
        annotations: JSON.parse(r.annotations),
        created_at: r.created_at,
        updated_at: r.updated_at,
        generation: r.generation,
        resource_version: r.resource_version,
      },
      spec: JSON.parse(r.spec),
      status: JSON.parse(r.status),
    };
  }

  get(id: string): StoredObject<S, St> | undefined {
    const r = this.db.prepare(`SELECT * FROM ${this.table} WHERE id = ?`).get(id);
    return r ? this.fromRow(r as unknown as ObjectRow) : undefined;
  }

  getByName(name: string): StoredObject<S, St> | undefined {
    const r = this.db.prepare(`SELECT * FROM ${this.table} WHERE name = ?`).get(name);
    return r ? this.fromRow(r as unknown as ObjectRow) : undefined;
  }

  /** By id, else by name. */
  find(ref: string): StoredObject<S, St> | undefined {
    return this.get(ref) ?? this.getByName(ref);
  }

  list(): StoredObject<S, St>[] {
    const rows = this.db.prepare(`SELECT * FROM ${this.table} ORDER BY name`).all();
    return (rows as unknown as ObjectRow[]).map((r) => this.fromRow(r));
  }

  /** A status as stored: kinds strip what lives in tables of their own. */
  protected statusJson(status: St): string {
    return JSON.stringify(status);
  }

  /** Records the object's change in the feed (inside the caller's transaction). */
  protected publish(id: string, type: ChangeType, object = this.get(id)): void {
    if (!object) return;
    const rv = this.feed.record(this.kind, type, object as StoredObject<unknown, unknown>);
    if (type !== "DELETED") {
      this.db.prepare(`UPDATE ${this.table} SET resource_version = ? WHERE id = ?`).run(rv, id);
    }
  }

  insert(o: StoredObject<S, St>): void {
    transaction(this.db, () => {
      this.insertRow(o);
      this.publish(o.meta.id, "ADDED");
    });
  }

  protected insertRow(o: StoredObject<S, St>): void {
    const m = o.meta;
    this.db.prepare(
      `INSERT INTO ${this.table} (id, name, labels, annotations, spec, status, created_at, updated_at, generation)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      m.id,
      m.name,
      JSON.stringify(m.labels),
      JSON.stringify(m.annotations),
      JSON.stringify(o.spec),
      this.statusJson(o.status),
      m.created_at,
      m.updated_at,
      m.generation,
    );
  }

  /**
   * Replaces meta (but the name) and spec, and with `status` the status too, as one
   * change; nothing is recorded when nothing changed.
   */
  update(o: StoredObject<S, St>, opts: { status?: boolean } = {}): void {
    transaction(this.db, () => {
      let changed = this.updateRow(o);
      if (opts.status) {
        const json = this.statusJson(o.status);
        const r = this.db.prepare(
          `UPDATE ${this.table} SET status = ? WHERE id = ? AND status != ?`,
        )
          .run(json, o.meta.id, json);
        changed = Number(r.changes) > 0 || changed;
      }
      if (changed) this.publish(o.meta.id, "MODIFIED");
    });
  }

  /** True when the row changed. */
  protected updateRow(o: StoredObject<S, St>): boolean {
    const m = o.meta;
    const vals = [
      JSON.stringify(m.labels),
      JSON.stringify(m.annotations),
      JSON.stringify(o.spec),
      m.updated_at,
      m.generation,
    ];
    const r = this.db.prepare(
      `UPDATE ${this.table} SET labels = ?, annotations = ?, spec = ?, updated_at = ?, generation = ?
       WHERE id = ? AND NOT (labels = ? AND annotations = ? AND spec = ? AND updated_at = ? AND generation = ?)`,
    ).run(...vals, m.id, ...vals);
    return Number(r.changes) > 0;
  }

  /** Replaces the status; nothing is recorded when it is the same. */
  setStatus(id: string, status: St): void {
    const json = this.statusJson(status);
    transaction(this.db, () => {
      const r = this.db.prepare(`UPDATE ${this.table} SET status = ? WHERE id = ? AND status != ?`)
        .run(json, id, json);
      if (Number(r.changes) > 0) this.publish(id, "MODIFIED");
    });
  }

  /** Patches the status (read, merged and written in one step). */
  patchStatus(id: string, patch: Partial<St>): void {
    const cur = this.get(id);
    if (cur) this.setStatus(id, { ...cur.status, ...patch });
  }

  delete(id: string): void {
    transaction(this.db, () => {
      const last = this.get(id);
      this.db.prepare(`DELETE FROM ${this.table} WHERE id = ?`).run(id);
      if (last) this.publish(id, "DELETED", last);
    });
  }
}
