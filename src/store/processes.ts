// Supervised processes of any kind (QEMU now; vde_switch and wirefilter next). A row
// is written before the launch (pid 0: the intent) and completed with the pid once it
// is known, so a daemon killed at any moment leaves enough to find the process again.
import type { DatabaseSync } from "node:sqlite";

export interface Owner {
  kind: string;
  id: string;
}

export interface ProcessRecord {
  owner: Owner;
  /** What the process is to its owner, e.g. "qemu". */
  role: string;
  /** 0 while only the launch intent is recorded. */
  pid: number;
  /** Linux: /proc/<pid>/stat starttime; "" where unknown. */
  startTime: string;
  /** A string only this process's command line carries (its run dir). */
  marker: string;
  pidFile: string;
  /** Role-specific facts, e.g. the QEMU binary and accelerator. */
  info: Record<string, string>;
  launchedAt: string;
}

interface Row {
  owner_kind: string;
  owner_id: string;
  role: string;
  pid: number;
  start_time: string;
  marker: string;
  pid_file: string;
  info: string;
  launched_at: string;
}

const fromRow = (r: Row): ProcessRecord => ({
  owner: { kind: r.owner_kind, id: r.owner_id },
  role: r.role,
  pid: r.pid,
  startTime: r.start_time,
  marker: r.marker,
  pidFile: r.pid_file,
  info: JSON.parse(r.info),
  launchedAt: r.launched_at,
});

export class ProcessStore {
  constructor(private readonly db: DatabaseSync) {}

  /** Writes (or replaces) a record: the intent before a launch, or the full identity. */
  put(p: ProcessRecord): void {
    this.db.prepare(
      `INSERT OR REPLACE INTO processes (owner_kind, owner_id, role, pid, start_time, marker, pid_file, info, launched_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      p.owner.kind,
      p.owner.id,
      p.role,
      p.pid,
      p.startTime,
      p.marker,
      p.pidFile,
      JSON.stringify(p.info),
      p.launchedAt,
    );
  }

  get(owner: Owner, role: string): ProcessRecord | undefined {
    const r = this.db.prepare(
      "SELECT * FROM processes WHERE owner_kind = ? AND owner_id = ? AND role = ?",
    ).get(owner.kind, owner.id, role) as Row | undefined;
    return r && fromRow(r);
  }

  list(kind?: string): ProcessRecord[] {
    const rows = kind === undefined
      ? this.db.prepare("SELECT * FROM processes").all()
      : this.db.prepare("SELECT * FROM processes WHERE owner_kind = ?").all(kind);
    return (rows as unknown as Row[]).map(fromRow);
  }

  forget(owner: Owner, role: string): void {
    this.db.prepare("DELETE FROM processes WHERE owner_kind = ? AND owner_id = ? AND role = ?")
      .run(owner.kind, owner.id, role);
  }
}
