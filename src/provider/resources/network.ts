// The infrasim_network resource: a private network with every link's default impairment.
// link_qos changes in place and reaches running links within a second; cidr and mtu
// change in place only while no VM is attached (the daemon says which are).
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { InfrasimClient } from "../../api/client.ts";
import { normalizeNetworkSpec } from "../../api/validate/network.ts";
import { NO_QOS } from "../../api/qos.ts";
import type * as P from "../../api/gen/tfplugin6.ts";
import { containsUnknown, isUnknown } from "../framework/cty.ts";
import { errorDiags } from "../framework/diagnostics.ts";
import type { ApplyResult, Obj, Resource } from "../framework/resource.ts";
import { deleteObject, labelsLike, metaChecks, readObject } from "../framework/crud.ts";
import { type BlockDef, nullObject } from "../framework/schema.ts";
import { TIMEOUTS_BLOCK, timeoutSeconds } from "../framework/timeouts.ts";
import { linkQosBlock, objectFromQos, qosFromObject } from "./link_qos.ts";
import { labelsOf, str } from "../framework/values.ts";
import { computed, dataSourceFrom } from "../framework/data_source.ts";

export const NETWORK_SCHEMA: BlockDef = {
  description: "A private Ethernet network between VMs, whose links can delay, drop, " +
    "duplicate and rate-limit traffic, changed live.",
  attributes: [
    computed("id", "string", "The network's UUID."),
    {
      name: "name",
      type: "string",
      required: true,
      forceNew: true,
      field: "meta.name",
      description: "Unique name, a DNS label. Changing it replaces the network.",
    },
    {
      name: "cidr",
      type: "string",
      required: true,
      field: "spec.cidr",
      description: 'IPv4 network, prefix /16 to /29, e.g. "10.20.0.0/24". VM addresses come ' +
        "from it. Changes only while no VM is attached.",
    },
    {
      name: "mtu",
      type: "number",
      optional: true,
      computed: true,
      field: "spec.mtu",
      description: "MTU of its links, 576-9000 (default 1500).",
    },
    {
      name: "seed",
      type: "number",
      optional: true,
      field: "spec.seed",
      description: "Makes the impairment's random choices (loss, jitter, duplicates...) " +
        "repeat run after run, 0-4294967295. Unset: a fresh seed each time the network's " +
        "link engine starts. Changes in place.",
    },
    {
      name: "labels",
      type: ["map", "string"],
      optional: true,
      field: "meta.labels",
      description: "Labels.",
    },
    computed("netmask", "string", "The cidr's netmask."),
    computed("created_at", "string", "RFC 3339 time."),
  ],
  blocks: [
    linkQosBlock(
      "spec.link_qos",
      "Every link's default impairment of what its VM sends (a VM's network_interface can " +
        "override each field). Two VMs with latency_ms 40 see an 80 ms ping.",
    ),
    TIMEOUTS_BLOCK,
  ],
};

export function objectFromNetwork(n: T.Network, prior: Obj | null): Obj {
  const m = n.meta!;
  return {
    id: m.id,
    name: m.name,
    cidr: n.spec!.cidr,
    mtu: n.spec!.mtu,
    seed: n.spec!.seed ?? null,
    labels: labelsLike(m.labels, prior),
    netmask: n.status!.netmask,
    created_at: m.created_at,
    link_qos: objectFromQos(n.spec!.link_qos, prior?.link_qos ?? []),
    timeouts: prior?.timeouts ?? null,
  };
}

function specOf(o: Obj): T.PrivateNetworkSpec {
  return {
    cidr: str(o.cidr),
    mtu: typeof o.mtu === "number" ? o.mtu : 0,
    link_qos: qosFromObject(o.link_qos),
    ...(typeof o.seed === "number" ? { seed: o.seed } : {}),
  };
}

function validate(config: Obj): P.Diagnostic[] {
  const { out, check } = metaChecks(config, NETWORK_SCHEMA);
  const probe = {
    ...config,
    mtu: isUnknown(config.mtu) ? null : config.mtu,
    seed: isUnknown(config.seed) ? null : config.seed,
  };
  if (!isUnknown(config.cidr) && !containsUnknown(config.link_qos)) {
    check(() => normalizeNetworkSpec(specOf(probe)));
  }
  return out;
}

async function create(client: InfrasimClient, planned: Obj): Promise<ApplyResult> {
  try {
    const n = await client.createNetwork({
      meta: { name: str(planned.name), labels: labelsOf(planned) },
      spec: specOf(planned),
    }, { timeoutSeconds: timeoutSeconds(planned, "create") });
    return { state: objectFromNetwork(n, planned), diagnostics: [] };
  } catch (e) {
    return { state: null, diagnostics: errorDiags(e, "Cannot create network", NETWORK_SCHEMA) };
  }
}

export const networkResource: Resource = {
  typeName: "infrasim_network",
  schema: NETWORK_SCHEMA,
  validate,
  modifyPlan(planned, { prior }) {
    if (planned.mtu === null) planned.mtu = prior?.mtu ?? 1500;
  },
  create,
  async update(client, prior, planned) {
    try {
      const n = await client.updateNetwork({
        ref: str(prior.id),
        meta: { labels: labelsOf(planned) },
        spec: specOf(planned),
      }, { timeoutSeconds: timeoutSeconds(planned, "update") });
      return { state: objectFromNetwork(n, planned), diagnostics: [] };
    } catch (e) {
      return {
        state: prior,
        diagnostics: errorDiags(e, "Cannot update network", NETWORK_SCHEMA),
      };
    }
  },
  delete: (client, prior) =>
    deleteObject(
      () =>
        client.deleteNetwork(str(prior.id), { timeoutSeconds: timeoutSeconds(prior, "delete") }),
      prior,
      "network",
    ),
  read: (client, current) =>
    readObject(() => client.getNetwork(str(current.id)), (n) => objectFromNetwork(n, current)),
  async importState(client, ref) {
    return objectFromNetwork(await client.getNetwork(ref), nullObject(NETWORK_SCHEMA));
  },
};

const ATTACHMENT = [
  "object",
  { vm_id: "string", vm_name: "string", ip: "string", mac: "string", state: "string" },
] as const;

/**
 * infrasim_network, the data source: one network by name or id, its link_qos as one object
 * (every field set; unset: its default) and the VM interfaces on it.
 */
export const networkDataSource = dataSourceFrom(networkResource, {
  description: "Looks up one network by name or id.",
  get: (c, ref) => c.getNetwork(ref),
  toObject: objectFromNetwork,
  single: { link_qos: { ...NO_QOS } },
  extra: {
    attributes: [
      computed(
        "attachments",
        ["list", ATTACHMENT as unknown as [string, string]],
        "The VM interfaces on it.",
      ),
    ],
    read: (n: T.Network) => ({
      attachments: n.status!.attachments.map((a) => ({
        vm_id: a.vm_id,
        vm_name: a.vm_name,
        ip: a.ip,
        mac: a.mac,
        state: a.state,
      })),
    }),
  },
});
