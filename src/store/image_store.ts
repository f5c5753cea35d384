// Images: records over blobs in a content-addressed store; several records (names) may
// share one blob.
import type { DatabaseSync } from "node:sqlite";
import type { ImageSpec, ImageStatus } from "../api/gen/infrasim.v1.ts";
import type { ChangeFeed } from "./feed.ts";
import { ObjectStore, type StoredObject } from "./objects.ts";

export type StoredImage = StoredObject<ImageSpec, ImageStatus>;

export class ImageStore extends ObjectStore<ImageSpec, ImageStatus> {
  constructor(db: DatabaseSync, feed: ChangeFeed) {
    super(db, "images", "IMAGE", feed);
  }

  /** How many records use a blob. */
  usersOfDigest(digest: string): number {
    const r = this.db.prepare(
      "SELECT COUNT(*) AS n FROM images WHERE json_extract(status, '$.digest') = ?",
    ).get(digest) as { n: number };
    return r.n;
  }
}
