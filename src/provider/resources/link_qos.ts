// The link_qos block, shared by infrasim_network (every link's defaults) and the VM's
// network_interface (overrides): each attribute unset inherits, so the block maps to a
// LinkQos with only the set fields, and reads back in the prior's form.
import type * as T from "../../api/gen/infrasim.v1.ts";
import { QOS_KEYS } from "../../api/validate/network.ts";
import { isUnknown } from "../framework/cty.ts";
import type { Obj } from "../framework/resource.ts";
import type { NestedBlockDef } from "../framework/schema.ts";
import { listOf } from "../framework/values.ts";

const DESCRIPTIONS: Record<string, string> = {
  latency_ms: "Added delay in ms of what the VM sends (0-60000).",
  jitter_ms: "Variation (±) of that delay in ms (0-60000).",
  loss_percent: "Share of packets dropped, in percent (0-100).",
  duplicate_percent: "Share of packets sent twice, in percent (0-50).",
  rate_kbps: "Rate limit in kbit/s (1000 bits); 0 is unlimited.",
};

export function linkQosBlock(what: string): NestedBlockDef {
  return {
    typeName: "link_qos",
    nesting: "LIST",
    maxItems: 1,
    block: {
      description: what,
      attributes: QOS_KEYS.map((k) => ({
        name: k,
        type: "number",
        optional: true,
        description: DESCRIPTIONS[k],
      })),
    },
  };
}

/** The LinkQos of a (known) link_qos block list; unknown values are left out. */
export function qosFromObject(v: Obj["link_qos"]): T.LinkQos {
  const b = listOf(v)[0];
  const q: T.LinkQos = {};
  for (const k of QOS_KEYS) {
    const x = b?.[k];
    if (typeof x === "number" && !isUnknown(x)) q[k] = x;
  }
  return q;
}

/** The block list for a LinkQos: none when nothing is set and the prior had none. */
export function objectFromQos(q: T.LinkQos | null | undefined, prior: Obj["link_qos"]): Obj[] {
  const set = QOS_KEYS.filter((k) => q?.[k] !== undefined && q?.[k] !== null);
  if (set.length === 0 && listOf(prior).length === 0) return [];
  return [Object.fromEntries(QOS_KEYS.map((k) => [k, set.includes(k) ? Number(q![k]) : null]))];
}
