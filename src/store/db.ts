// SQLite state store (node:sqlite, WAL) with versioned schema migrations.
import { DatabaseSync } from "node:sqlite";
import { chmodSync, closeSync, existsSync, openSync } from "node:fs";

/** Append-only: never edit a shipped migration, add a new one. */
const MIGRATIONS: string[] = [
  // 1: VMs and their host port allocations.
  `CREATE TABLE vms (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     spec TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL,
     qemu_identity TEXT
   );
   CREATE TABLE port_allocations (
     protocol TEXT NOT NULL,
     host_port INTEGER NOT NULL,
     guest_port INTEGER NOT NULL,
     vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
     PRIMARY KEY (protocol, host_port),
     UNIQUE (vm_id, protocol, guest_port)
   );`,
  // 2: supervised processes of any kind (identity persisted before launch) and
  // references between objects; the VM's own identity column moves into processes.
  `CREATE TABLE processes (
     owner_kind TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     role TEXT NOT NULL,
     pid INTEGER NOT NULL DEFAULT 0,
     start_time TEXT NOT NULL DEFAULT '',
     marker TEXT NOT NULL,
     pid_file TEXT NOT NULL DEFAULT '',
     info TEXT NOT NULL DEFAULT '{}',
     launched_at TEXT NOT NULL,
     PRIMARY KEY (owner_kind, owner_id, role)
   );
   CREATE TABLE refs (
     from_kind TEXT NOT NULL,
     from_id TEXT NOT NULL,
     field TEXT NOT NULL,
     to_kind TEXT NOT NULL,
     to_id TEXT NOT NULL,
     PRIMARY KEY (from_kind, from_id, field, to_kind, to_id)
   );
   CREATE INDEX refs_to ON refs (to_kind, to_id);
   INSERT INTO processes (owner_kind, owner_id, role, pid, start_time, marker, info, launched_at)
     SELECT 'VM', id, 'qemu', json_extract(qemu_identity, '$.pid'),
            COALESCE(json_extract(qemu_identity, '$.startTime'), ''), '',
            json_object('binary', json_extract(qemu_identity, '$.binary'),
                        'accelerator', json_extract(qemu_identity, '$.accelerator')),
            updated_at
     FROM vms WHERE qemu_identity IS NOT NULL;
   ALTER TABLE vms DROP COLUMN qemu_identity;`,
  // 3: images (the blob lives in images/sha256/<hex>, shared by records of one digest).
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     spec TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL
   );`,
  // 4: volumes (the file lives in volumes/<id>.qcow2).
  `CREATE TABLE volumes (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     spec TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL
   );`,
  // 5: private networks (their switch runs in networks/<id>/).
  `CREATE TABLE networks (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     spec TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL
   );`,
  // 6: the change feed: every committed change of every kind, numbered by a resource
  // version that only grows (AUTOINCREMENT never reuses one, even after pruning).
  `CREATE TABLE changes (
     rv INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     type TEXT NOT NULL,
     object TEXT NOT NULL,
     at TEXT NOT NULL
   );
   ALTER TABLE vms ADD COLUMN resource_version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE images ADD COLUMN resource_version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE volumes ADD COLUMN resource_version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE networks ADD COLUMN resource_version INTEGER NOT NULL DEFAULT 0;`,
  // 7: VM snapshots (held inside their disks' qcow2 files and the VM's state file).
  `CREATE TABLE snapshots (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     spec TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL,
     resource_version INTEGER NOT NULL DEFAULT 0
   );`,
  // 8: lab checkpoints (sets of snapshots taken at one moment).
  `CREATE TABLE checkpoints (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     spec TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL,
     resource_version INTEGER NOT NULL DEFAULT 0
   );`,
];

export function openDatabase(path: string): DatabaseSync {
  if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  migrate(db);
  return db;
}

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as
    | { v: number | null }
    | undefined;
  return row?.v ?? 0;
}

function migrate(db: DatabaseSync): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `state database schema version ${current} is newer than this infrasimd knows (${MIGRATIONS.length}); upgrade infrasimd`,
    );
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    transaction(db, () => {
      db.exec(MIGRATIONS[v - 1]);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(
        v,
        new Date().toISOString(),
      );
    });
  }
}

interface TxState {
  depth: number;
  /** Run once the outermost transaction commits (dropped on rollback). */
  committed: Array<() => void>;
}
const txs = new WeakMap<DatabaseSync, TxState>();

/**
 * Runs fn in one transaction; nested calls join the outer one, so a store method that
 * records its change in the feed stays atomic inside a caller's transaction.
 */
export function transaction<R>(db: DatabaseSync, fn: () => R): R {
  let tx = txs.get(db);
  if (tx && tx.depth > 0) {
    tx.depth++;
    try {
      return fn();
    } finally {
      tx.depth--;
    }
  }
  tx = { depth: 1, committed: [] };
  txs.set(db, tx);
  db.exec("BEGIN IMMEDIATE");
  let r: R;
  try {
    r = fn();
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  } finally {
    txs.delete(db);
  }
  for (const cb of tx.committed) cb();
  return r;
}

/** Runs cb after the current transaction commits (at once outside one). */
export function afterCommit(db: DatabaseSync, cb: () => void): void {
  const tx = txs.get(db);
  if (tx && tx.depth > 0) tx.committed.push(cb);
  else cb();
}
