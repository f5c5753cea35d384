// The infrasim_network data source: one network by name or id, with its attachments.
import type { InfrasimClient } from "../../api/client.ts";
import { diag } from "../framework/diagnostics.ts";
import type { DataSource, Obj } from "../framework/resource.ts";
import type { BlockDef } from "../framework/schema.ts";
import { objectFromNetwork } from "../resources/network.ts";
import { computed } from "./common.ts";

const QOS = [
  "object",
  {
    latency_ms: "number",
    jitter_ms: "number",
    loss_percent: "number",
    duplicate_percent: "number",
    rate_kbps: "number",
  },
] as const;
const ATTACHMENT = [
  "object",
  { vm_id: "string", vm_name: "string", ip: "string", mac: "string", state: "string" },
] as const;

const NETWORK_DATA_SCHEMA: BlockDef = {
  description: "Looks up one network by name or id.",
  attributes: [
    { name: "id", type: "string", optional: true, computed: true, description: "Network id." },
    { name: "name", type: "string", optional: true, computed: true, description: "Network name." },
    computed("cidr", "string", "Its IPv4 network."),
    computed("mtu", "number", "MTU of its links."),
    computed("netmask", "string", "The cidr's netmask."),
    computed("labels", ["map", "string"], "Labels."),
    computed("link_qos", QOS as unknown as [string, string], "Every link's defaults (unset: 0)."),
    computed(
      "attachments",
      ["list", ATTACHMENT as unknown as [string, string]],
      "The VM interfaces on it.",
    ),
    computed("created_at", "string", "RFC 3339 time."),
  ],
};

async function read(client: InfrasimClient, config: Obj): Promise<Obj> {
  const n = await client.getNetwork((config.id ?? config.name) as string);
  const { timeouts: _t, link_qos: _q, ...rest } = objectFromNetwork(n, null);
  const q = n.spec!.link_qos ?? {};
  return {
    ...rest,
    labels: rest.labels ?? {},
    link_qos: {
      latency_ms: q.latency_ms ?? 0,
      jitter_ms: q.jitter_ms ?? 0,
      loss_percent: q.loss_percent ?? 0,
      duplicate_percent: q.duplicate_percent ?? 0,
      rate_kbps: q.rate_kbps ?? 0,
    },
    attachments: n.status!.attachments.map((a) => ({
      vm_id: a.vm_id,
      vm_name: a.vm_name,
      ip: a.ip,
      mac: a.mac,
      state: a.state,
    })),
  };
}

export const networkDataSource: DataSource = {
  typeName: "infrasim_network",
  schema: NETWORK_DATA_SCHEMA,
  validate: (c) =>
    c.name === null && c.id === null
      ? [diag("Missing name or id", "set name or id", ["name"])]
      : [],
  read,
};
