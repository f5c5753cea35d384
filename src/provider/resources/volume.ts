// The infrasim_volume resource: a qcow2 volume, blank or an overlay of an image. size_gb
// grows in place (also under a running VM); a smaller size is a plan-time error, never
// a replacement that would lose the data.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { InfrasimClient } from "../../api/client.ts";
import { normalizeVolumeSpec } from "../../api/validate/volume.ts";
import type * as P from "../../api/gen/tfplugin6.ts";
import { isUnknown, toNumber, UNKNOWN } from "../framework/cty.ts";
import { diag, errorDiags } from "../framework/diagnostics.ts";
import type { ApplyResult, Obj, Resource } from "../framework/resource.ts";
import { deleteObject, labelsLike, metaChecks, readObject } from "../framework/crud.ts";
import { type BlockDef, nullObject } from "../framework/schema.ts";
import { computed, dataSourceFrom } from "../framework/data_source.ts";
import { TIMEOUTS_BLOCK, timeoutSeconds } from "../framework/timeouts.ts";
import { labelsOf, str } from "../framework/values.ts";

const GIB = 1024 ** 3;
export const VOLUME_SCHEMA: BlockDef = {
  description: "A VM disk in infrasimd's data dir: blank, or a copy-on-write overlay of an image.",
  attributes: [
    computed("id", "string", "The volume's UUID."),
    {
      name: "name",
      type: "string",
      required: true,
      forceNew: true,
      field: "meta.name",
      description: "Unique name, a DNS label. Changing it replaces the volume.",
    },
    {
      name: "image_id",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.image",
      description: "The image (id or name) the volume is an overlay of; unset: a blank volume. " +
        "Changing it replaces the volume.",
    },
    {
      name: "size_gb",
      type: "number",
      optional: true,
      computed: true,
      field: "spec.size_gb",
      description: "Size in GiB; required for a blank volume, defaults to the image's size. " +
        "Growing it is an in-place update (a running VM's guest sees it at once); a smaller " +
        "value is an error.",
    },
    {
      name: "labels",
      type: ["map", "string"],
      optional: true,
      field: "meta.labels",
      description: "Labels.",
    },
    computed("size_bytes", "number", "The size a guest sees, in bytes."),
    computed("attached_to", "string", "The id of the VM that uses it, empty when free."),
    computed("path", "string", "The qcow2 file."),
    computed("created_at", "string", "RFC 3339 time."),
  ],
  blocks: [TIMEOUTS_BLOCK],
};

export function objectFromVolume(v: T.Volume, prior: Obj | null): Obj {
  const m = v.meta!, st = v.status!;
  const labels = labelsLike(m.labels, prior);
  return {
    id: m.id,
    name: m.name,
    image_id: v.spec!.image || null,
    size_gb: Math.ceil(st.size_bytes / GIB),
    labels,
    size_bytes: st.size_bytes,
    attached_to: st.attached_to,
    path: st.path,
    created_at: m.created_at,
    timeouts: prior?.timeouts ?? null,
  };
}

const sizeOf = (o: Obj) => {
  const n = isUnknown(o.size_gb) ? undefined : toNumber(o.size_gb, "size_gb");
  return typeof n === "number" ? n : 0;
};

function validate(config: Obj): P.Diagnostic[] {
  const { out, check } = metaChecks(config, VOLUME_SCHEMA);
  if (!isUnknown(config.image_id) && !isUnknown(config.size_gb)) {
    check(() => normalizeVolumeSpec({ image: str(config.image_id), size_gb: sizeOf(config) }));
  }
  return out;
}

async function create(client: InfrasimClient, planned: Obj): Promise<ApplyResult> {
  try {
    const v = await client.createVolume({
      meta: { name: str(planned.name), labels: labelsOf(planned) },
      spec: { image: str(planned.image_id), size_gb: sizeOf(planned) },
    }, { timeoutSeconds: timeoutSeconds(planned, "create") });
    return { state: objectFromVolume(v, planned), diagnostics: [] };
  } catch (e) {
    return { state: null, diagnostics: errorDiags(e, "Cannot create volume", VOLUME_SCHEMA) };
  }
}

export const volumeResource: Resource = {
  typeName: "infrasim_volume",
  schema: VOLUME_SCHEMA,
  validate,
  modifyPlan(planned, { prior, replacing, diagnostics }) {
    if (!prior || replacing) {
      if (planned.size_gb === null) planned.size_gb = UNKNOWN;
      return;
    }
    // Unset size_gb keeps the current size (it is computed).
    if (planned.size_gb === null) planned.size_gb = prior.size_gb;
    const want = sizeOf(planned), have = sizeOf(prior);
    if (want && want < have) {
      diagnostics.push(diag(
        "Volumes cannot shrink",
        `size_gb ${want} is smaller than the volume's ${have} GiB; shrinking would lose data. ` +
          `Grow it, or replace the volume on purpose (terraform apply -replace=...)`,
        ["size_gb"],
      ));
    }
    if (want !== have) {
      planned.size_bytes = want * GIB;
    }
  },
  create,
  async update(client, prior, planned) {
    try {
      const v = await client.updateVolume({
        ref: str(prior.id),
        meta: { labels: labelsOf(planned) },
        spec: { image: str(prior.image_id), size_gb: sizeOf(planned) },
      }, { timeoutSeconds: timeoutSeconds(planned, "update") });
      return { state: objectFromVolume(v, planned), diagnostics: [] };
    } catch (e) {
      return { state: prior, diagnostics: errorDiags(e, "Cannot update volume", VOLUME_SCHEMA) };
    }
  },
  delete: (client, prior) =>
    deleteObject(
      () => client.deleteVolume(str(prior.id), { timeoutSeconds: timeoutSeconds(prior, "delete") }),
      prior,
      "volume",
    ),
  read: (client, current) =>
    readObject(() => client.getVolume(str(current.id)), (v) => objectFromVolume(v, current)),
  async importState(client, ref) {
    return objectFromVolume(await client.getVolume(ref), nullObject(VOLUME_SCHEMA));
  },
};

/** infrasim_volume, the data source: one volume by name or id. */
export const volumeDataSource = dataSourceFrom(volumeResource, {
  description: "Looks up one volume by name or id.",
  get: (c, ref) => c.getVolume(ref),
  toObject: objectFromVolume,
});
