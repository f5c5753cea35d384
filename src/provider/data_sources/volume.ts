// The infrasim_volume data source: one volume by name or id.
import type { InfrasimClient } from "../../api/client.ts";
import { diag } from "../framework/diagnostics.ts";
import type { DataSource, Obj } from "../framework/resource.ts";
import type { BlockDef } from "../framework/schema.ts";
import { objectFromVolume } from "../resources/volume.ts";
import { computed } from "./common.ts";

const VOLUME_DATA_SCHEMA: BlockDef = {
  description: "Looks up one volume by name or id.",
  attributes: [
    { name: "id", type: "string", optional: true, computed: true, description: "Volume id." },
    { name: "name", type: "string", optional: true, computed: true, description: "Volume name." },
    computed("image_id", "string", "The image it is an overlay of, as given; null when blank."),
    computed("size_gb", "number", "Size in GiB (rounded up)."),
    computed("labels", ["map", "string"], "Labels."),
    computed("size_bytes", "number", "The size a guest sees, in bytes."),
    computed("attached_to", "string", "The id of the VM that uses it, empty when free."),
    computed("path", "string", "The qcow2 file."),
    computed("created_at", "string", "RFC 3339 time."),
  ],
};

async function read(client: InfrasimClient, config: Obj): Promise<Obj> {
  const ref = (config.id ?? config.name) as string;
  const { timeouts: _t, ...rest } = objectFromVolume(await client.getVolume(ref), null);
  return { ...rest, labels: rest.labels ?? {} };
}

export const volumeDataSource: DataSource = {
  typeName: "infrasim_volume",
  schema: VOLUME_DATA_SCHEMA,
  validate: (c) =>
    c.name === null && c.id === null
      ? [diag("Missing name or id", "set name or id", ["name"])]
      : [],
  read,
};
