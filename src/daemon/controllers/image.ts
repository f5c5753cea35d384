// The image kind: imports into the content-addressed store, lookups, and deletes that
// are refused while a volume uses the image. An import holds no lock while it copies;
// its name is claimed before and again when the record is written.
import { randomUUID } from "node:crypto";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { failedPrecondition, invalid, quote } from "../../api/errors.ts";
import { infoArgs, parseInfo, runQemuImg } from "../../qemu/img.ts";
import type { ImageStore, StoredImage } from "../../store/image_store.ts";
import type { RefStore } from "../../store/refs.ts";
import { BlobStore } from "../../storage/blobs.ts";
import { openSource } from "../../storage/sources.ts";
import type { Claims } from "../claims.ts";
import { IMAGE, type NameOf } from "../contracts.ts";
import type { DataLayout } from "../layout.ts";
import type { KeyedMutex } from "../locks.ts";
import { log } from "../log.ts";
import {
  assertUnused,
  checkCreate,
  KindReads,
  lockKey,
  metaMaps,
  newMeta,
  nextMeta,
  sameJson,
} from "./common.ts";

const SHA256 = /^(sha256:)?([0-9a-fA-F]{64})$/;

export interface Progress {
  (done: number, total: number | undefined): void;
}

export class ImageController extends KindReads<T.ImageSpec, T.ImageStatus> {
  readonly blobs: BlobStore;

  constructor(
    override readonly store: ImageStore,
    private readonly refs: RefStore,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    private readonly layout: DataLayout,
    private readonly qemuImg: string | undefined,
    private readonly nameOf: NameOf,
  ) {
    super(store, IMAGE);
    this.blobs = new BlobStore(layout.imagesDir());
  }

  /** Empties tmp/ (imports a dead daemon left) and removes blobs no record uses. */
  async init(): Promise<void> {
    const used = new Set(this.store.list().map((i) => i.status.digest.replace(/^sha256:/, "")));
    const unused = await this.blobs.init((hex) => used.has(hex));
    if (unused > 0) log.info("removed unused image blobs", { count: unused });
  }

  async import(req: T.ImportImageRequest, progress: Progress, signal: AbortSignal) {
    const { name, labels, annotations, spec } = checkCreate(req.meta, () => {
      const given = req.spec?.sha256 ?? "";
      const m = given ? given.match(SHA256) : null;
      if (given && !m) throw invalid("spec.sha256", `${quote(given)} is not 64 hex digits`);
      return { source: (req.spec?.source ?? "").trim(), sha256: m?.[2].toLowerCase() };
    });
    const source = spec.source;
    const want = spec.sha256;
    if (!this.qemuImg) {
      throw failedPrecondition(
        "qemu-img is not installed (Debian: qemu-utils; macOS: brew install qemu)",
      );
    }
    await this.claims.run(() => this.claims.assertNameFree(this.store, IMAGE, name));
    const src = await openSource(source, this.layout.root, signal);
    const ing = await this.blobs.ingest(src.chunks, (done) => progress(done, src.total));
    try {
      if (src.total !== undefined && ing.bytes !== src.total) {
        throw invalid("spec.source", `truncated: got ${ing.bytes} of ${src.total} bytes`);
      }
      if (want && ing.hex !== want) {
        throw invalid("spec.sha256", `the source's sha256 is ${ing.hex}, not ${want}`);
      }
      const info = parseInfo(await runQemuImg(this.qemuImg, infoArgs(ing.tmpPath)));
      signal.throwIfAborted();
      const path = await this.blobs.commit(ing);
      const id = randomUUID();
      return await this.claims.run(() => {
        try {
          this.claims.assertNameFree(this.store, IMAGE, name);
        } catch (e) {
          if (this.store.usersOfDigest(`sha256:${ing.hex}`) === 0) void this.blobs.remove(ing.hex);
          throw e;
        }
        const image: StoredImage = {
          meta: newMeta(id, name, { labels, annotations }),
          spec: { source, sha256: want ?? "" },
          status: {
            digest: `sha256:${ing.hex}`,
            format: info.format,
            virtual_size_bytes: info.virtualSize,
            actual_size_bytes: ing.bytes,
            path,
          },
        };
        this.store.insert(image);
        log.info("image imported", { id, name, digest: image.status.digest, bytes: ing.bytes });
        return this.find(id);
      });
    } finally {
      await this.blobs.discard(ing); // a no-op once committed
    }
  }

  /** Labels and annotations only: an image's content never changes. */
  update(req: T.UpdateImageRequest): Promise<StoredImage> {
    const id = this.find(req.ref).meta.id;
    return this.locks.run(lockKey(IMAGE, id), () => {
      const cur = this.find(id);
      const { labels, annotations } = metaMaps(req.meta, cur.meta);
      const changed = !sameJson(labels, cur.meta.labels) ||
        !sameJson(annotations, cur.meta.annotations);
      const next = { ...cur, meta: nextMeta(cur.meta, changed, { labels, annotations }) };
      this.store.update(next);
      return Promise.resolve(this.find(id));
    });
  }

  delete(ref: string): Promise<string> {
    const id = this.find(ref).meta.id;
    // Under the claims lock too: a volume being created claims its image there.
    return this.locks.run(lockKey(IMAGE, id), () =>
      this.claims.run(async () => {
        const img = this.find(id);
        assertUnused(this.refs, IMAGE, img.meta, this.nameOf);
        this.store.delete(id);
        if (this.store.usersOfDigest(img.status.digest) === 0) {
          await this.blobs.remove(img.status.digest.replace(/^sha256:/, ""));
        }
        log.info("image deleted", { id, name: img.meta.name });
        return id;
      }));
  }
}
