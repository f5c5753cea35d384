// The change feed: every committed change of every kind, spec and status, numbered by a
// resource version that only grows and survives restarts (the `changes` table). A
// change is written in the same transaction as the object, and published to
// subscribers once that transaction commits, so a watcher never sees a change that was
// rolled back, nor misses one that was kept. The newest KEEP changes are kept for
// watchers that resume; older ones are pruned.
import type { DatabaseSync } from "node:sqlite";
import { afterCommit, transaction } from "./db.ts";
import type { StoredObject } from "./object.ts";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface Change {
  rv: number;
  kind: string;
  type: ChangeType;
  object: StoredObject<unknown, unknown>;
  /** The object's size as JSON (what a watcher's buffer holds of it, roughly). */
  size: number;
}

export type Listener = (c: Change) => void;

/** How many changes are kept for resuming watchers (config: events.keep). */
export const KEEP = 10_000;

interface Row {
  rv: number;
  kind: string;
  type: ChangeType;
  object: string;
}

export class ChangeFeed {
  #listeners = new Set<Listener>();
  #closers = new Set<() => void>();
  #sinceprune = 0;

  constructor(private readonly db: DatabaseSync, private readonly keep = KEEP) {}

  /** The newest resource version handed out (0 before the first change). */
  current(): number {
    const r = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as
      | { seq: number }
      | undefined;
    return r?.seq ?? 0;
  }

  /**
   * Records a change of an object (its state after the change; for DELETED, its last
   * state) and stamps its resource version into it. Joins the caller's transaction;
   * subscribers hear of it after the commit.
   */
  record(kind: string, type: ChangeType, object: StoredObject<unknown, unknown>): number {
    return transaction(this.db, () => {
      const rv = this.current() + 1;
      object.meta.resource_version = rv;
      const json = JSON.stringify(object);
      this.db.prepare(
        "INSERT INTO changes (rv, kind, id, type, object, at) VALUES (?, ?, ?, ?, ?, ?)",
      )
        .run(rv, kind, object.meta.id, type, json, new Date().toISOString());
      const change: Change = { rv, kind, type, object, size: json.length };
      afterCommit(this.db, () => this.#publish(change));
      // Pruned in batches of a twentieth of what is kept: cheap, and never below `keep`.
      if (++this.#sinceprune >= Math.max(1, Math.floor(this.keep / 20))) {
        this.#sinceprune = 0;
        this.db.prepare("DELETE FROM changes WHERE rv <= ?").run(rv - this.keep);
      }
      return rv;
    });
  }

  #publish(c: Change): void {
    for (const l of this.#listeners) {
      try {
        l(c);
      } catch {
        // A listener's failure is its own (a watch stream ends itself); others go on.
      }
    }
  }

  /** Hears every change committed from now on; returns the unsubscribe. */
  subscribe(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** Told once when the feed closes (daemon shutdown); returns the removal. */
  onClose(fn: () => void): () => void {
    this.#closers.add(fn);
    return () => this.#closers.delete(fn);
  }

  /** Ends every watch: the daemon is going away. */
  close(): void {
    for (const fn of [...this.#closers]) fn();
    this.#closers.clear();
    this.#listeners.clear();
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /**
   * Every kept change after rv, oldest first; undefined when some of them were pruned
   * (or rv is ahead of the feed), so the caller must list again.
   */
  since(rv: number): Change[] | undefined {
    const cur = this.current();
    if (rv > cur) return undefined;
    if (rv === cur) return [];
    const oldest = this.db.prepare("SELECT MIN(rv) AS m FROM changes").get() as {
      m: number | null;
    };
    if (oldest.m === null || oldest.m > rv + 1) return undefined;
    const rows = this.db.prepare(
      "SELECT rv, kind, type, object FROM changes WHERE rv > ? ORDER BY rv",
    )
      .all(rv) as unknown as Row[];
    return rows.map((r) => ({
      rv: r.rv,
      kind: r.kind,
      type: r.type,
      object: JSON.parse(r.object),
      size: r.object.length,
    }));
  }

  /** The oldest resource version a watcher may resume from. */
  oldestResumable(): number {
    const oldest = this.db.prepare("SELECT MIN(rv) AS m FROM changes").get() as {
      m: number | null;
    };
    return oldest.m === null ? this.current() : oldest.m - 1;
  }
}
