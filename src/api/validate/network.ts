// Validation and defaults of networks, their links' impairment and VM interfaces, shared
// by the daemon (authoritative), the CLI and the provider.
import { invalid, quote, Violations } from "../errors.ts";
import type * as T from "../gen/infrasim.v1.ts";
import { formatCidr, parseCidr, parseIp } from "../ipv4.ts";
import { validateRef } from "./guest.ts";
import { type FullQos, NO_QOS, QOS_FIELDS, QOS_KEYS } from "../qos.ts";

export const NETWORK_DEFAULTS = { mtu: 1500 } as const;
export const MTU: readonly [number, number] = [576, 9000];
/** A capture's bounds (0: no count or duration limit; snaplen 0: 65535). */
export const CAPTURE_LIMITS = {
  count: [0, 1_000_000_000],
  duration_seconds: [0, 86_400],
  snaplen: [64, 65_535],
} as const;
/** A seed is a 32-bit word, what the engine's generator takes. */
export const SEED_MAX = 0xffffffff;
export const PREFIX: readonly [number, number] = [16, 29];
export const MAX_INTERFACES = 8;
/** An interface's link: "" and "up" carry frames, "down" is a pulled cable. */
export const LINK_STATES = ["", "up", "down"];

/**
 * The set fields of q, checked; unset ones stay absent (they inherit). Also what one
 * block says on its own: the Gilbert-Elliott model needs both p and r, and replaces
 * loss_percent; a reorder needs a delay (netem refuses one without).
 */
export function normalizeLinkQos(
  q: T.LinkQos | null | undefined,
  field: string,
  own = false,
): T.LinkQos {
  const out: T.LinkQos = {};
  const vs = new Violations();
  for (const f of QOS_FIELDS) {
    const v = q?.[f.name];
    if (v === undefined || v === null) continue;
    if (f.kind === "choice") {
      const t = String(v);
      if (f.choices.includes(t)) out.delay_distribution = t;
      else {
        vs.add(
          `${field}.${f.name}`,
          `must be one of ${f.choices.join(", ")} (got ${quote(t.slice(0, 20))})`,
        );
      }
      continue;
    }
    const [min, max] = f.range;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (f.integer && !Number.isInteger(n))) {
      vs.add(
        `${field}.${f.name}`,
        `must be ${f.integer ? "a whole number " : ""}between ${min} and ${max} (got ${
          quote(String(v).slice(0, 20))
        })`,
      );
      continue;
    }
    out[f.name] = n;
  }
  const p = out.gemodel_p_percent, r = out.gemodel_r_percent;
  const ge = [p, r, out.gemodel_1h_percent, out.gemodel_1k_percent].some((x) => x !== undefined);
  if (ge && p === undefined) {
    vs.add(
      `${field}.gemodel_p_percent`,
      "is required for the Gilbert-Elliott loss model (with gemodel_r_percent)",
    );
  }
  if (ge && r === undefined) {
    vs.add(
      `${field}.gemodel_r_percent`,
      "is required for the Gilbert-Elliott loss model (with gemodel_p_percent)",
    );
  }
  if (ge && out.loss_percent) {
    vs.add(
      `${field}.loss_percent`,
      "cannot be set with the Gilbert-Elliott model: it decides the losses",
    );
  }
  // A network's own values apply as they are; an interface's may inherit a delay.
  const latency = out.latency_ms ?? (own ? 0 : undefined);
  if (out.reorder_percent && latency === 0) {
    vs.add(
      `${field}.reorder_percent`,
      "needs a delay: set latency_ms (netem cannot reorder without one)",
    );
  }
  vs.done();
  return out;
}

/** The impairment a link gets: the interface's fields over the network's, the rest default. */
export function effectiveQos(
  network: T.LinkQos | null | undefined,
  iface: T.LinkQos | null | undefined,
): FullQos {
  const out = { ...NO_QOS } as Record<string, number | string>;
  for (const k of QOS_KEYS) out[k] = iface?.[k] ?? network?.[k] ?? NO_QOS[k];
  // A Gilbert-Elliott model on one side replaces loss_percent from the other, and back.
  const geOwn = (q: T.LinkQos | null | undefined) =>
    q?.gemodel_p_percent !== undefined && q?.gemodel_p_percent !== null;
  if (geOwn(iface)) out.loss_percent = iface?.loss_percent ?? 0;
  else if (iface?.loss_percent !== undefined && iface?.loss_percent !== null && geOwn(network)) {
    for (
      const k of [
        "gemodel_p_percent",
        "gemodel_r_percent",
        "gemodel_1h_percent",
        "gemodel_1k_percent",
      ] as const
    ) {
      out[k] = NO_QOS[k];
    }
  }
  for (const k of QOS_KEYS) if (typeof NO_QOS[k] === "number") out[k] = Number(out[k]);
  return out as FullQos;
}

/** What a link's effective values must also satisfy (each block was checked on its own). */
export function checkEffectiveQos(q: FullQos, field: string): void {
  if (q.reorder_percent > 0 && q.latency_ms === 0) {
    throw invalid(
      `${field}.reorder_percent`,
      "needs a delay: set latency_ms here or on the network (netem cannot reorder without one)",
    );
  }
}

export function normalizeNetworkSpec(
  spec: T.PrivateNetworkSpec | null | undefined,
  field = "spec",
): T.PrivateNetworkSpec {
  if (!spec) throw invalid(field, "is required");
  const vs = new Violations();
  const cidr = vs.check(() => checkCidr(spec.cidr, `${field}.cidr`), "");
  const mtu = spec.mtu || NETWORK_DEFAULTS.mtu;
  if (!Number.isInteger(mtu) || mtu < MTU[0] || mtu > MTU[1]) {
    vs.add(`${field}.mtu`, `must be between ${MTU[0]} and ${MTU[1]}`);
  }
  const link_qos = vs.check(() => normalizeLinkQos(spec.link_qos, `${field}.link_qos`, true), {});
  const seed = spec.seed ?? undefined;
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > SEED_MAX)) {
    vs.add(`${field}.seed`, `must be a whole number from 0 to ${SEED_MAX}`);
  }
  vs.done();
  return { cidr, mtu, link_qos, ...(seed !== undefined ? { seed } : {}) };
}

function checkCidr(text: string | undefined, field: string): string {
  const t = (text ?? "").trim();
  if (!t) throw invalid(field, 'is required (an IPv4 network such as "10.20.0.0/24")');
  const c = parseCidr(t);
  if (c === "syntax") {
    throw invalid(field, `${quote(t.slice(0, 40))} is not an IPv4 cidr such as 10.20.0.0/24`);
  }
  if ("hostBits" in c) {
    throw invalid(field, `${quote(t)} has host bits set; the network is ${c.hostBits}`);
  }
  if (c.prefix < PREFIX[0] || c.prefix > PREFIX[1]) {
    throw invalid(field, `prefix /${c.prefix}: must be /${PREFIX[0]} to /${PREFIX[1]}`);
  }
  return formatCidr(c);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A VM's private-network interfaces: syntax here; addresses are checked by the daemon. */
export function normalizeInterfaces(
  list:
    | Array<
      & Omit<T.NetworkInterface, "link_state" | "receive_link_qos">
      & { link_state?: string; receive_link_qos?: T.LinkQos | null }
    >
    | undefined,
  field = "spec",
): T.NetworkInterface[] {
  const vs = new Violations();
  const out = (list ?? []).map((n, i): T.NetworkInterface => {
    const f = `${field}.network_interfaces[${i}]`;
    const network = vs.check(() => validateRef(n.network, `${f}.network`, "a network"), "");
    const ip = (n.ip ?? "").trim();
    if (ip && parseIp(ip) === undefined) {
      vs.add(`${f}.ip`, `${quote(ip.slice(0, 40))} is not an IPv4 address`);
    }
    const mac = (n.mac ?? "").trim().toLowerCase();
    if (!mac) {
      // allocated by the daemon
    } else if (!MAC.test(mac)) {
      vs.add(`${f}.mac`, `${quote(mac.slice(0, 40))} is not a MAC such as 52:54:00:12:34:56`);
    } else if (parseInt(mac.slice(0, 2), 16) & 1) {
      vs.add(`${f}.mac`, `${mac} is a multicast address; a NIC needs a unicast one`);
    } else if (/^00(:00){5}$/.test(mac)) vs.add(`${f}.mac`, "must not be all zeros");
    const link_qos = vs.check(() => normalizeLinkQos(n.link_qos, `${f}.link_qos`), {});
    const link_state = (n.link_state ?? "").trim().toLowerCase();
    if (!LINK_STATES.includes(link_state)) {
      vs.add(`${f}.link_state`, `must be up or down (got ${quote(link_state.slice(0, 20))})`);
    }
    // What the VM receives has its own values, so a reorder there needs its own delay.
    const receive_link_qos = vs.check(
      () => normalizeLinkQos(n.receive_link_qos, `${f}.receive_link_qos`, true),
      {},
    );
    return { network, ip, mac, link_qos, link_state, receive_link_qos };
  });
  if (out.length > MAX_INTERFACES) {
    vs.add(`${field}.network_interfaces`, `at most ${MAX_INTERFACES} interfaces`);
  }
  out.forEach((n, i) => {
    const j = out.findIndex((m) => m.mac && m.mac === n.mac);
    if (n.mac && j < i) vs.add(`${field}.network_interfaces[${i}].mac`, `${n.mac} is used twice`);
  });
  vs.done();
  return out;
}
