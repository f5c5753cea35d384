// Persistence of any object kind: one table per kind with the standard columns (meta
// as columns, spec and status as JSON). A kind's store adds only what is its own.
import type { DatabaseSync } from "node:sqlite";
import type { ObjectMeta } from "../api/gen/infrasim.v1.ts";

export type Meta = Required<Pick<ObjectMeta, keyof ObjectMeta>>;

export interface StoredObject<S, St> {
  meta: Meta;
  spec: S;
  status: St;
}

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
}

export class ObjectStore<S, St> {
  constructor(protected readonly db: DatabaseSync, readonly table: string) {}

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

  insert(o: StoredObject<S, St>): void {
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

  /** Replaces meta (but the name) and spec. */
  update(o: StoredObject<S, St>): void {
    const m = o.meta;
    this.db.prepare(
      `UPDATE ${this.table} SET labels = ?, annotations = ?, spec = ?, updated_at = ?, generation = ? WHERE id = ?`,
    ).run(
      JSON.stringify(m.labels),
      JSON.stringify(m.annotations),
      JSON.stringify(o.spec),
      m.updated_at,
      m.generation,
      m.id,
    );
  }

  setStatus(id: string, status: St): void {
    this.db.prepare(`UPDATE ${this.table} SET status = ? WHERE id = ?`).run(
      this.statusJson(status),
      id,
    );
  }

  delete(id: string): void {
    this.db.prepare(`DELETE FROM ${this.table} WHERE id = ?`).run(id);
  }
}
