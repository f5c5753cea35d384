// A small schema model: one definition drives the tfplugin6 schema Terraform sees,
// the null object (every attribute present), defaults and requires-replace paths.
import { Buffer } from "node:buffer";
import type { CtyValue } from "./cty.ts";

export type TypeJson = string | [string, TypeJson] | ["object", Record<string, TypeJson>];

export interface AttrDef {
  name: string;
  type: TypeJson;
  description: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  /** A change to this attribute replaces the resource. */
  forceNew?: boolean;
  /** Filled into the plan when the configuration leaves the attribute null. */
  default?: CtyValue;
  /**
   * The API field it sets, so errors about that field land here: in a resource, the
   * request's path (spec.memory_mb); inside a block, relative to the block (default: the
   * attribute's own name).
   */
  field?: string;
}

export interface BlockDef {
  description?: string;
  attributes: AttrDef[];
  blocks?: NestedBlockDef[];
}

export interface NestedBlockDef {
  typeName: string;
  nesting: "SINGLE" | "LIST" | "SET" | "MAP";
  block: BlockDef;
  maxItems?: number;
  forceNew?: boolean;
  /** The API field (a list, or a message when maxItems is 1) it sets; see AttrDef.field. */
  field?: string;
}

/** The tfplugin6.Schema message for a block (as a plain object for the gRPC encoder). */
export function toProtoSchema(block: BlockDef, version = 0): unknown {
  return { version, block: toProtoBlock(block) };
}

function toProtoBlock(b: BlockDef): unknown {
  return {
    version: 0,
    description: b.description ?? "",
    description_kind: "MARKDOWN",
    attributes: b.attributes.map((a) => ({
      name: a.name,
      type: Buffer.from(JSON.stringify(a.type)),
      description: a.description,
      description_kind: "MARKDOWN",
      required: !!a.required,
      optional: !!a.optional,
      computed: !!a.computed,
      sensitive: !!a.sensitive,
    })),
    block_types: (b.blocks ?? []).map((nb) => ({
      type_name: nb.typeName,
      block: toProtoBlock(nb.block),
      nesting: nb.nesting,
      min_items: 0,
      max_items: nb.maxItems ?? 0,
    })),
  };
}

/** An object of this block with every attribute null and every nested block empty. */
export function nullObject(b: BlockDef): Record<string, CtyValue> {
  const o: Record<string, CtyValue> = {};
  for (const a of b.attributes) o[a.name] = null;
  for (const nb of b.blocks ?? []) {
    o[nb.typeName] = nb.nesting === "SINGLE" ? null : nb.nesting === "MAP" ? {} : [];
  }
  return o;
}

/** Sets attributes the configuration leaves null to their defaults. */
export function applyDefaults(
  b: BlockDef,
  obj: Record<string, CtyValue>,
  config: Record<string, CtyValue> | null,
): Record<string, CtyValue> {
  const out = { ...nullObject(b), ...obj };
  for (const a of b.attributes) {
    if (a.default !== undefined && (config?.[a.name] ?? null) === null) out[a.name] = a.default;
  }
  for (const nb of b.blocks ?? []) {
    const v = out[nb.typeName];
    const cv = config?.[nb.typeName];
    if (Array.isArray(v)) {
      out[nb.typeName] = v.map((e, i) =>
        applyDefaults(
          nb.block,
          e as Record<string, CtyValue>,
          Array.isArray(cv) ? (cv[i] as Record<string, CtyValue>) ?? null : null,
        )
      );
    }
  }
  return out;
}
