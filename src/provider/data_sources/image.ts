// The infrasim_image data source: one image by name or id.
import type { InfrasimClient } from "../../api/client.ts";
import { diag } from "../framework/diagnostics.ts";
import type { DataSource, Obj } from "../framework/resource.ts";
import type { BlockDef } from "../framework/schema.ts";
import { objectFromImage } from "../resources/image.ts";
import { computed } from "./common.ts";

const IMAGE_DATA_SCHEMA: BlockDef = {
  description: "Looks up one image by name or id.",
  attributes: [
    { name: "id", type: "string", optional: true, computed: true, description: "Image id." },
    { name: "name", type: "string", optional: true, computed: true, description: "Image name." },
    computed("source", "string", "Where it was imported from."),
    computed("labels", ["map", "string"], "Labels."),
    computed("digest", "string", "`sha256:<hex>` of the stored content."),
    computed("format", "string", "qcow2, raw, ..."),
    computed("virtual_size_bytes", "number", "The disk size a guest sees."),
    computed("actual_size_bytes", "number", "The bytes stored."),
    computed("path", "string", "Where the daemon keeps it."),
    computed("created_at", "string", "RFC 3339 time."),
  ],
};

async function read(client: InfrasimClient, config: Obj): Promise<Obj> {
  const ref = (config.id ?? config.name) as string;
  const o = objectFromImage(await client.getImage(ref), null);
  const { sha256: _s, timeouts: _t, ...rest } = o;
  return { ...rest, labels: o.labels ?? {} };
}

export const imageDataSource: DataSource = {
  typeName: "infrasim_image",
  schema: IMAGE_DATA_SCHEMA,
  validate: (c) =>
    c.name === null && c.id === null
      ? [diag("Missing name or id", "set name or id", ["name"])]
      : [],
  read,
};
