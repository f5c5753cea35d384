// Volumes: records over qcow2 files in the data dir.
import type { DatabaseSync } from "node:sqlite";
import type { VolumeSpec, VolumeStatus } from "../api/gen/infrasim.v1.ts";
import type { ChangeFeed } from "./feed.ts";
import { ObjectStore, type StoredObject } from "./objects.ts";

export type StoredVolume = StoredObject<VolumeSpec, VolumeStatus>;

export class VolumeStore extends ObjectStore<VolumeSpec, VolumeStatus> {
  constructor(db: DatabaseSync, feed: ChangeFeed) {
    super(db, "volumes", "VOLUME", feed);
  }
}
