// The link_qos block, shared by infrasim_network (every link's defaults) and the VM's
// network_interface (overrides): each attribute unset inherits, so the block maps to a
// LinkQos with only the set fields, and reads back in the prior's form.
import type * as T from "../../api/gen/infrasim.v1.ts";
import { QOS_FIELDS, QOS_KEYS, rangeText } from "../../api/qos.ts";
import { isUnknown } from "../framework/cty.ts";
import type { Obj } from "../framework/resource.ts";
import type { NestedBlockDef } from "../framework/schema.ts";
import { listOf } from "../framework/values.ts";

export function linkQosBlock(field: string, what: string, typeName = "link_qos"): NestedBlockDef {
  return {
    typeName,
    nesting: "LIST",
    maxItems: 1,
    field,
    block: {
      description: what,
      attributes: QOS_FIELDS.map((f) => ({
        name: f.name,
        type: f.kind === "choice" ? "string" : "number",
        optional: true,
        description: `${f.description[0].toUpperCase()}${f.description.slice(1)} (${
          rangeText(f)
        }).`,
      })),
    },
  };
}

/** The LinkQos of a (known) link_qos block list; unknown values are left out. */
export function qosFromObject(v: Obj["link_qos"]): T.LinkQos {
  const b = listOf(v)[0];
  const q: T.LinkQos = {};
  for (const f of QOS_FIELDS) {
    const x = b?.[f.name];
    if (isUnknown(x)) continue;
    if (f.kind === "choice" && typeof x === "string") q.delay_distribution = x;
    else if (f.kind === "number" && typeof x === "number") q[f.name] = x;
  }
  return q;
}

/** The block list for a LinkQos: none when nothing is set and the prior had none. */
export function objectFromQos(q: T.LinkQos | null | undefined, prior: Obj["link_qos"]): Obj[] {
  const set = QOS_KEYS.filter((k) => q?.[k] !== undefined && q?.[k] !== null);
  if (set.length === 0 && listOf(prior).length === 0) return [];
  return [
    Object.fromEntries(
      QOS_FIELDS.map((f) => [
        f.name,
        !set.includes(f.name)
          ? null
          : f.kind === "choice"
          ? String(q![f.name])
          : Number(q![f.name]),
      ]),
    ),
  ];
}
