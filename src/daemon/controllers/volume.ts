// The volume kind: qcow2 files in <data_dir>/volumes, blank or overlays over an image.
// The file is made before the record, so a daemon killed in between leaves only a file
// that the next start removes; a volume grows in place (QMP block_resize when a
// running VM holds it) and never shrinks.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { failedPrecondition, invalid, quote } from "../../api/errors.ts";
import { normalizeVolumeSpec } from "../../api/validate/volume.ts";
import { createArgs, infoArgs, parseInfo, resizeArgs, runQemuImg } from "../../qemu/img.ts";
import type { ImageStore } from "../../store/image_store.ts";
import type { RefStore } from "../../store/refs.ts";
import type { StoredVolume, VolumeStore } from "../../store/volume_store.ts";
import type { Claims } from "../claims.ts";
import { type AttachedResize, IMAGE, type NameOf, VM, VOLUME } from "../contracts.ts";
import type { DataLayout } from "../layout.ts";
import type { KeyedMutex } from "../locks.ts";
import { log } from "../log.ts";
import {
  assertUnused,
  checkCreate,
  findOr404,
  KindReads,
  lockKey,
  metaMaps,
  newMeta,
  nextMeta,
  sameJson,
} from "./common.ts";

export const GIB = 1024 ** 3;

export class VolumeController extends KindReads<T.VolumeSpec, T.VolumeStatus> {
  readonly dir: string;

  constructor(
    override readonly store: VolumeStore,
    private readonly images: ImageStore,
    private readonly refs: RefStore,
    private readonly locks: KeyedMutex,
    private readonly claims: Claims,
    layout: DataLayout,
    private readonly qemuImg: string | undefined,
    private readonly nameOf: NameOf,
    /** How a volume a VM holds grows (inside its QEMU when it runs). */
    private readonly resizeAttached: AttachedResize,
  ) {
    super(store, VOLUME);
    this.dir = layout.volumesDir();
  }

  pathOf(id: string): string {
    return join(this.dir, `${id}.qcow2`);
  }

  /** Removes files no record owns: creates cut short by a dead daemon. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let removed = 0;
    for (const f of await readdir(this.dir)) {
      if (this.store.get(f.replace(/\.qcow2$/, ""))) continue;
      await rm(join(this.dir, f), { force: true });
      removed++;
    }
    if (removed > 0) log.info("removed volume files without a record", { count: removed });
  }

  #tool(): string {
    if (!this.qemuImg) {
      throw failedPrecondition(
        "qemu-img is not installed (Debian: qemu-utils; macOS: brew install qemu)",
      );
    }
    return this.qemuImg;
  }

  async create(req: T.CreateVolumeRequest): Promise<StoredVolume> {
    const { name, labels, annotations, spec } = checkCreate(
      req.meta,
      () => normalizeVolumeSpec(req.spec),
    );
    const tool = this.#tool();
    await this.claims.run(() => this.claims.assertNameFree(this.store, VOLUME, name));
    const image = spec.image ? findOr404(this.images, IMAGE, spec.image, "spec.image") : undefined;
    const base = image?.status.virtual_size_bytes ?? 0;
    const size = spec.size_gb ? spec.size_gb * GIB : base;
    if (image && size < base) {
      throw invalid(
        "spec.size_gb",
        `must be at least the image's virtual size (${fmtGib(base)}); volumes cannot be smaller`,
      );
    }
    const id = randomUUID();
    const path = this.pathOf(id);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const backing = image ? { path: image.status.path, format: image.status.format } : undefined;
    try {
      await runQemuImg(tool, createArgs(path, size, backing), 60_000);
      const info = parseInfo(await runQemuImg(tool, infoArgs(path)));
      return await this.claims.run(() => {
        this.claims.assertNameFree(this.store, VOLUME, name);
        // The image may have been deleted while the file was made.
        if (image && !this.images.get(image.meta.id)) {
          throw failedPrecondition(`image ${quote(spec.image)} was deleted meanwhile`);
        }
        const v: StoredVolume = {
          meta: newMeta(id, name, { labels, annotations }),
          spec,
          status: {
            path,
            format: "qcow2",
            size_bytes: info.virtualSize,
            image_id: image?.meta.id ?? "",
            attached_to: "",
            attached_to_name: "",
          },
        };
        this.store.insert(v);
        if (image) {
          this.refs.set({ kind: VOLUME, id }, [
            { field: "spec.image", kind: IMAGE, id: image.meta.id },
          ]);
        }
        log.info("volume created", { id, name, bytes: info.virtualSize, image: image?.meta.id });
        return this.find(id);
      });
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
  }

  /** Labels, annotations and growing; a running VM's guest sees the new size at once. */
  update(req: T.UpdateVolumeRequest): Promise<StoredVolume> {
    const id = this.find(req.ref).meta.id;
    return this.locks.run(lockKey(VOLUME, id), async () => {
      const cur = this.find(id);
      const { labels, annotations } = metaMaps(req.meta, cur.meta);
      const spec = req.spec
        ? normalizeVolumeSpec({ ...req.spec, size_gb: req.spec.size_gb || cur.spec.size_gb })
        : cur.spec;
      if (spec.image !== cur.spec.image) {
        throw invalid("spec.image", "cannot be changed; create a new volume instead");
      }
      const size = spec.size_gb * GIB;
      let status = cur.status;
      if (spec.size_gb && size !== cur.status.size_bytes) {
        if (size < cur.status.size_bytes) {
          throw invalid(
            "spec.size_gb",
            `cannot shrink volume ${quote(cur.meta.name)} from ${
              fmtGib(cur.status.size_bytes)
            } to ${spec.size_gb} GiB (data would be lost)`,
          );
        }
        await this.#grow(cur, size);
        status = { ...status, size_bytes: size };
      }
      const changed = !sameJson(spec, cur.spec) || !sameJson(labels, cur.meta.labels) ||
        !sameJson(annotations, cur.meta.annotations);
      const next = {
        ...cur,
        spec,
        status,
        meta: nextMeta(cur.meta, changed, { labels, annotations }),
      };
      this.store.update(next, { status: status !== cur.status });
      return this.find(id);
    });
  }

  async #grow(v: StoredVolume, size: number): Promise<void> {
    const vm = this.refs.usersOf({ kind: VOLUME, id: v.meta.id }).find((u) => u.kind === VM);
    const offline = () => runQemuImg(this.#tool(), resizeArgs(v.status.path, size), 60_000);
    if (vm) await this.resizeAttached(vm.id, v.meta.id, size, offline);
    else await offline();
    log.info("volume grown", { id: v.meta.id, bytes: size, online: !!vm });
  }

  delete(ref: string): Promise<string> {
    const id = this.find(ref).meta.id;
    return this.locks.run(lockKey(VOLUME, id), () =>
      this.claims.run(async () => {
        const v = this.find(id);
        assertUnused(this.refs, VOLUME, v.meta, this.nameOf);
        this.refs.clear({ kind: VOLUME, id });
        this.store.delete(id);
        await rm(v.status.path, { force: true });
        log.info("volume deleted", { id, name: v.meta.name });
        return id;
      }));
  }
}

export function fmtGib(bytes: number): string {
  const g = bytes / GIB;
  return `${Number.isInteger(g) ? g : g.toFixed(2)} GiB`;
}
