// Private networks: records; each one's switch runs in <data_dir>/net/<id>/ and its
// process is in the processes table.
import type { DatabaseSync } from "node:sqlite";
import type { PrivateNetworkSpec, PrivateNetworkStatus } from "../api/gen/infrasim.v1.ts";
import type { ChangeFeed } from "./feed.ts";
import { ObjectStore, type StoredObject } from "./objects.ts";

export type StoredNetwork = StoredObject<PrivateNetworkSpec, PrivateNetworkStatus>;

export class NetworkStore extends ObjectStore<PrivateNetworkSpec, PrivateNetworkStatus> {
  constructor(db: DatabaseSync, feed: ChangeFeed) {
    super(db, "networks", "NETWORK", feed);
  }
}
