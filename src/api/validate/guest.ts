// Validation of what a VM spec tells the guest and about it: volume attachments,
// cloud-init input and the readiness condition. Shared by daemon, CLI and provider.
import { parse as parseYaml } from "yaml";
import { invalid, quote, Violations } from "../errors.ts";
import type * as T from "../gen/infrasim.v1.ts";
import { intIn, LIMITS } from "./common.ts";

export const CLOUD_INIT_DEFAULTS = { user: "infrasim" } as const;
/** cloud-init's own seeds are small; this keeps a seed (and the state row) bounded. */
const MAX_CLOUD_INIT_BYTES = 1 << 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;
const SSH_KEY =
  /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+) [A-Za-z0-9+/]+=*( [^\r\n]*)?$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** A reference to another object: its id (a UUID) or its name (a DNS label). */
export function validateRef(ref: string | undefined, field: string, kind: string): string {
  const r = (ref ?? "").trim();
  if (r === "") throw invalid(field, `must name ${kind} (id or name)`);
  if (!UUID.test(r) && !(r.length <= 63 && DNS_LABEL.test(r))) {
    throw invalid(field, `${quote(r)} is neither ${kind} id nor a name`);
  }
  return r;
}

export function normalizeVolumes(
  list: T.VolumeAttachment[] | undefined,
  bootVolume: string | undefined,
  field: string,
): T.VolumeAttachment[] {
  const seen = new Set(bootVolume ? [bootVolume] : []);
  const vs = new Violations();
  const out = (list ?? []).map((v, i) => {
    const f = `${field}.volumes[${i}].volume`;
    const volume = vs.check(() => validateRef(v.volume, f, "a volume"), "");
    if (volume && seen.has(volume)) vs.add(f, `volume ${quote(volume)} is attached twice`);
    seen.add(volume);
    return { volume, read_only: !!v.read_only };
  });
  if (out.length > 16) vs.add(`${field}.volumes`, "at most 16 volumes");
  vs.done();
  return out;
}

function yamlMapping(text: string, field: string): void {
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch (e) {
    throw invalid(field, `is not valid YAML: ${String((e as Error).message).split("\n")[0]}`);
  }
  if (v !== null && (typeof v !== "object" || Array.isArray(v))) {
    throw invalid(field, "must be a YAML mapping");
  }
}

export function normalizeCloudInit(
  ci: T.CloudInit | null | undefined,
  field: string,
): T.CloudInit | null {
  if (!ci) return null;
  const f = `${field}.cloud_init`;
  const vs = new Violations();
  const size = (ci.user_data ?? "").length + (ci.meta_data ?? "").length +
    (ci.network_config ?? "").length;
  if (size > MAX_CLOUD_INIT_BYTES) throw invalid(f, "must total at most 1 MiB");
  if (ci.meta_data) vs.check(() => yamlMapping(ci.meta_data, `${f}.meta_data`), undefined);
  if (ci.network_config) {
    vs.check(() => {
      yamlMapping(ci.network_config, `${f}.network_config`);
      const v =
        (parseYaml(ci.network_config) as { version?: unknown; network?: { version?: unknown } }) ??
          {};
      const version = v.version ?? v.network?.version;
      if (version !== 1 && version !== 2) {
        throw invalid(`${f}.network_config`, "must say version: 1 or version: 2");
      }
    }, undefined);
  }
  // As given, like the keys: Terraform reads back exactly what it sent.
  const hostname = ci.hostname ?? "";
  if (hostname && (hostname.length > 253 || !HOSTNAME.test(hostname))) {
    vs.add(`${f}.hostname`, `${quote(hostname)} is not a host name`);
  }
  const keys = (ci.ssh_authorized_keys ?? []).map((k, i) => {
    const key = k.trim();
    if (!SSH_KEY.test(key)) {
      vs.add(
        `${f}.ssh_authorized_keys[${i}]`,
        `${quote(key)} is not an OpenSSH public key (one line, "ssh-ed25519 AAAA... comment")`,
      );
    }
    // Kept as given (file() keeps the newline), so Terraform reads back what it sent.
    return k;
  });
  if (keys.length > 64) vs.add(`${f}.ssh_authorized_keys`, "at most 64 keys");
  const user = (ci.user ?? "").trim() || CLOUD_INIT_DEFAULTS.user;
  if (!USER.test(user) || user === "root") {
    vs.add(`${f}.user`, `${quote(user)} is not a login name (and not root)`);
  }
  vs.done();
  return {
    user_data: ci.user_data ?? "",
    meta_data: ci.meta_data ?? "",
    network_config: ci.network_config ?? "",
    hostname,
    ssh_authorized_keys: keys,
    user,
  };
}

export function normalizeWaitFor(
  w: T.WaitFor | null | undefined,
  forwards: T.PortForward[],
  field: string,
): T.WaitFor | null {
  if (!w || (!w.guest_port && !w.serial)) return null;
  const f = field ? `${field}.wait_for` : "wait_for";
  const vs = new Violations();
  const guest_port = w.guest_port
    ? vs.check(() => intIn(w.guest_port, LIMITS.port, `${f}.guest_port`), 0)
    : 0;
  if (guest_port && !forwards.some((p) => p.protocol === "tcp" && p.guest_port === guest_port)) {
    vs.add(
      `${f}.guest_port`,
      `guest port ${guest_port} is not forwarded; add a tcp port forward for it`,
    );
  }
  const serial = w.serial ?? "";
  if (serial.length > 1024) vs.add(`${f}.serial`, "must be at most 1024 characters");
  else if (serial) {
    try {
      new RegExp(serial);
    } catch (e) {
      vs.add(`${f}.serial`, `is not a regular expression: ${(e as Error).message}`);
    }
  }
  vs.done();
  return { guest_port, serial };
}
