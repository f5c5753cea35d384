// A data source derived from its resource: looked up by name or id, with a computed copy
// of every attribute of the resource's schema (blocks become computed lists of objects).
// A kind adds only what its resource does not have: renamed or flattened blocks, and
// extra computed values from the API object.
import type { InfrasimClient } from "../../api/client.ts";
import type { CtyValue } from "./cty.ts";
import { diag } from "./diagnostics.ts";
import type { DataSource, Obj, Resource } from "./resource.ts";
import { type AttrDef, type BlockDef, nullObject, type TypeJson } from "./schema.ts";
import { listOf } from "./values.ts";

/** A computed attribute (id, state, ...). */
export const computed = (name: string, type: AttrDef["type"], description: string): AttrDef => ({
  name,
  type,
  computed: true,
  description,
});

export interface Derivation<A> {
  /** Fetches the API object by name or id. */
  get(client: InfrasimClient, ref: string): Promise<A>;
  /** The resource's conversion of an API object to its Terraform object. */
  toObject(api: A, prior: Obj): Obj;
  description: string;
  /** Attributes or blocks of the resource that the data source leaves out. */
  omit?: string[];
  /** Blocks under another name (a data source that always had a plural name keeps it). */
  rename?: Record<string, string>;
  /** Blocks of at most one item read as one object, unset fields as this value (or per field). */
  single?: Record<string, CtyValue | Obj>;
  /** Values the resource does not have, computed from the API object. */
  extra?: { attributes: AttrDef[]; read(api: A): Obj };
}

/** The type of a block's objects: its attributes and, as lists, its nested blocks. */
function objectType(b: BlockDef): TypeJson {
  const fields: Record<string, TypeJson> = {};
  for (const a of b.attributes) fields[a.name] = a.type;
  for (const nb of b.blocks ?? []) fields[nb.typeName] = ["list", objectType(nb.block)];
  return ["object", fields];
}

export function dataSourceFrom<A>(r: Resource, d: Derivation<A>): DataSource {
  const omit = new Set(["timeouts", ...(d.omit ?? [])]);
  const attrs: AttrDef[] = r.schema.attributes.filter((a) => !omit.has(a.name)).map((a) => ({
    name: a.name,
    type: a.type,
    description: a.description,
    sensitive: a.sensitive,
    ...(a.name === "id" || a.name === "name"
      ? { optional: true, computed: true }
      : { computed: true }),
  }));
  for (const nb of r.schema.blocks ?? []) {
    if (omit.has(nb.typeName)) continue;
    const type = objectType(nb.block);
    attrs.push({
      name: d.rename?.[nb.typeName] ?? nb.typeName,
      type: nb.typeName in (d.single ?? {}) ? type : ["list", type],
      computed: true,
      // An object type cannot mark one of its fields sensitive: the whole value is.
      sensitive: hasSensitive(nb.block),
      description: nb.block.description ?? "",
    });
  }
  const schema: BlockDef = {
    description: d.description,
    attributes: [...attrs, ...(d.extra?.attributes ?? [])],
  };
  return {
    typeName: r.typeName,
    schema,
    validate: (c) =>
      c.name === null && c.id === null
        ? [diag("Missing name or id", "set name or id", ["name"])]
        : [],
    async read(client, config) {
      const api = await d.get(client, (config.id ?? config.name) as string);
      const o = d.toObject(api, nullObject(r.schema));
      const out: Obj = {};
      for (const a of attrs) {
        const from = Object.entries(d.rename ?? {}).find(([, to]) => to === a.name)?.[0] ??
          a.name;
        let v = o[from] ?? null;
        if (from in (d.single ?? {})) v = fill(listOf(v)[0], a.type, d.single![from]);
        // An unset map reads as empty: a data source says what is, not what was configured.
        if (v === null && Array.isArray(a.type) && a.type[0] === "map") v = {};
        out[a.name] = v;
      }
      return { ...out, ...d.extra?.read(api) };
    },
  };
}

function hasSensitive(b: BlockDef): boolean {
  return b.attributes.some((a) => a.sensitive) ||
    (b.blocks ?? []).some((nb) => hasSensitive(nb.block));
}

/** One object of a block, every field set (from `unset`, one value or one per field, where null). */
function fill(v: Obj | undefined, type: TypeJson, unset: CtyValue | Obj): Obj {
  const fields = (type as ["object", Record<string, TypeJson>])[1];
  const dflt = (k: string) =>
    unset !== null && typeof unset === "object" && !Array.isArray(unset)
      ? (unset as Obj)[k] ?? null
      : unset;
  return Object.fromEntries(Object.keys(fields).map((k) => [k, v?.[k] ?? dflt(k)]));
}
