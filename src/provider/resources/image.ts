// The infrasim_image resource: a disk image imported into the daemon's store. Its
// content never changes: a new source or sha256 replaces it; labels update in place.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { InfrasimClient } from "../../api/client.ts";
import { ApiError, Status } from "../../api/errors.ts";

import { diag, errorDiags } from "../framework/diagnostics.ts";
import type { ApplyResult, Obj, Resource } from "../framework/resource.ts";
import { deleteObject, labelsLike, metaChecks, readObject } from "../framework/crud.ts";
import { type BlockDef, nullObject } from "../framework/schema.ts";
import { computed, dataSourceFrom } from "../framework/data_source.ts";
import { TIMEOUTS_BLOCK, timeoutSeconds } from "../framework/timeouts.ts";
import { labelsOf, str } from "../framework/values.ts";

export const IMAGE_SCHEMA: BlockDef = {
  description: "A disk image in infrasimd's content-addressed store, imported from a path or URL.",
  attributes: [
    computed("id", "string", "The image's UUID."),
    {
      name: "name",
      type: "string",
      required: true,
      forceNew: true,
      field: "meta.name",
      description: "Unique name, a DNS label. Changing it replaces the image.",
    },
    {
      name: "source",
      type: "string",
      required: true,
      forceNew: true,
      field: "spec.source",
      description: "An absolute path on the daemon's host, or an `http(s)://` URL.",
    },
    {
      name: "sha256",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.sha256",
      description: "The expected SHA-256 (64 hex digits); the import fails if the content differs.",
    },
    {
      name: "labels",
      type: ["map", "string"],
      optional: true,
      field: "meta.labels",
      description: "Labels. Updated in place.",
    },
    computed("digest", "string", "`sha256:<hex>` of the stored content."),
    computed("format", "string", "The image format qemu-img found: `qcow2`, `raw`, ..."),
    computed("virtual_size_bytes", "number", "The disk size a guest sees."),
    computed("actual_size_bytes", "number", "The bytes stored."),
    computed("path", "string", "Where the daemon keeps it."),
    computed("created_at", "string", "RFC 3339 time."),
  ],
  blocks: [TIMEOUTS_BLOCK],
};

export function objectFromImage(i: T.Image, prior: Obj | null): Obj {
  const m = i.meta!, st = i.status!;
  const labels = labelsLike(m.labels, prior);
  const sha256 = i.spec!.sha256 || null;
  return {
    id: m.id,
    name: m.name,
    source: i.spec!.source,
    sha256,
    labels,
    digest: st.digest,
    format: st.format,
    virtual_size_bytes: st.virtual_size_bytes,
    actual_size_bytes: st.actual_size_bytes,
    path: st.path,
    created_at: m.created_at,
    timeouts: prior?.timeouts ?? null,
  };
}

function validate(config: Obj) {
  const { out } = metaChecks(config, IMAGE_SCHEMA);
  // One spelling only, as sha256sum prints it: the state then always equals the config.
  if (typeof config.sha256 === "string" && !/^[0-9a-f]{64}$/.test(config.sha256)) {
    out.push(diag("Invalid sha256", "must be 64 lowercase hex digits, as sha256sum prints it", [
      "sha256",
    ]));
  }
  const src = config.source;
  if (typeof src === "string" && !src.startsWith("/") && !/^https?:\/\//i.test(src)) {
    out.push(
      diag("Invalid source", "must be an absolute path or an http(s):// URL", ["source"]),
    );
  }
  return out;
}

async function create(client: InfrasimClient, planned: Obj): Promise<ApplyResult> {
  const job = client.importImage({
    meta: { name: str(planned.name), labels: labelsOf(planned) },
    spec: { source: str(planned.source), sha256: str(planned.sha256) },
  });
  const limit = timeoutSeconds(planned, "create");
  const timer = setTimeout(() => job.cancel(), limit * 1000);
  try {
    return { state: objectFromImage(await job.done, planned), diagnostics: [] };
  } catch (e) {
    const what = e instanceof ApiError && e.code === Status.CANCELLED
      ? `the import did not finish within ${limit} s (timeouts.create); nothing was kept`
      : undefined;
    return {
      state: null,
      diagnostics: what
        ? [diag("Cannot import image", what)]
        : errorDiags(e, "Cannot import image", IMAGE_SCHEMA),
    };
  } finally {
    clearTimeout(timer);
  }
}

export const imageResource: Resource = {
  typeName: "infrasim_image",
  schema: IMAGE_SCHEMA,
  validate,
  create,
  async update(client, prior, planned) {
    try {
      const img = await client.updateImage({
        ref: str(prior.id),
        meta: { labels: labelsOf(planned) },
      });
      return { state: objectFromImage(img, planned), diagnostics: [] };
    } catch (e) {
      return { state: prior, diagnostics: errorDiags(e, "Cannot update image", IMAGE_SCHEMA) };
    }
  },
  delete: (client, prior) =>
    deleteObject(
      () => client.deleteImage(str(prior.id), { timeoutSeconds: timeoutSeconds(prior, "delete") }),
      prior,
      "image",
    ),
  read: (client, current) =>
    readObject(() => client.getImage(str(current.id)), (v) => objectFromImage(v, current)),
  async importState(client, ref) {
    return objectFromImage(await client.getImage(ref), nullObject(IMAGE_SCHEMA));
  },
};

/** infrasim_image, the data source: one image by name or id. */
export const imageDataSource = dataSourceFrom(imageResource, {
  description: "Looks up one image by name or id.",
  get: (c, ref) => c.getImage(ref),
  toObject: objectFromImage,
});
