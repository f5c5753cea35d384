// The kinds the daemon serves: one line each. The table drives the stores (one table of
// the standard shape per kind), names in messages, the change feed's kind names, the
// Watch API's event field and the gRPC service each kind's controller is served as.
import type { DatabaseSync } from "node:sqlite";
import type { ChangeFeed } from "../store/feed.ts";
import { ImageStore } from "../store/image_store.ts";
import { NetworkStore } from "../store/network_store.ts";
import { VmStore } from "../store/vm_store.ts";
import { VolumeStore } from "../store/volume_store.ts";
import { SnapshotStore } from "../store/snapshot_store.ts";
import { ObjectStore } from "../store/objects.ts";
import { CHECKPOINT, IMAGE, NETWORK, SNAPSHOT, VM, VOLUME } from "./contracts.ts";
import { type ApiKind, kindByName as apiKindByName } from "../api/kinds.ts";

export interface KindDef extends ApiKind {
  /** The gRPC service that serves it. */
  service: string;
  store(db: DatabaseSync, feed: ChangeFeed): ObjectStore<unknown, unknown>;
}

export const KINDS: KindDef[] = [
  { kind: VM, event: "vm", service: "infrasim.v1.VmService", store: (d, f) => new VmStore(d, f) },
  {
    kind: IMAGE,
    event: "image",
    service: "infrasim.v1.ImageService",
    store: (d, f) => new ImageStore(d, f),
  },
  {
    kind: VOLUME,
    event: "volume",
    service: "infrasim.v1.VolumeService",
    store: (d, f) => new VolumeStore(d, f),
  },
  {
    kind: NETWORK,
    event: "network",
    service: "infrasim.v1.NetworkService",
    store: (d, f) => new NetworkStore(d, f),
  },
  {
    kind: SNAPSHOT,
    event: "snapshot",
    service: "infrasim.v1.SnapshotService",
    store: (d, f) => new SnapshotStore(d, f),
  },
  {
    kind: CHECKPOINT,
    event: "checkpoint",
    service: "infrasim.v1.CheckpointService",
    store: (d, f) => new ObjectStore(d, "checkpoints", CHECKPOINT, f),
  },
];

/** A kind by the name a user types (vm, VM, volumes), or undefined. */
export function kindByName(name: string): KindDef | undefined {
  const k = apiKindByName(name);
  return KINDS.find((d) => d.kind === k?.kind);
}
