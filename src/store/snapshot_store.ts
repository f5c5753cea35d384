// Snapshots: records over internal snapshots in their VM's qcow2 files.
import type { DatabaseSync } from "node:sqlite";
import type { SnapshotSpec, SnapshotStatus } from "../api/gen/infrasim.v1.ts";
import type { ChangeFeed } from "./feed.ts";
import { ObjectStore, type StoredObject } from "./objects.ts";

export type StoredSnapshot = StoredObject<SnapshotSpec, SnapshotStatus>;

export class SnapshotStore extends ObjectStore<SnapshotSpec, SnapshotStatus> {
  constructor(db: DatabaseSync, feed: ChangeFeed) {
    super(db, "snapshots", "SNAPSHOT", feed);
  }

  /** A VM's snapshots, oldest first. */
  ofVm(vmId: string): StoredSnapshot[] {
    return this.list().filter((s) => s.spec.vm === vmId).sort((a, b) =>
      a.meta.created_at.localeCompare(b.meta.created_at)
    );
  }
}
