// The files of a NoCloud seed, as a pure function of the VM's cloud-init input and the
// keys the daemon holds. The user's user-data passes through untouched; what the daemon
// adds (the pinned host key, the login user with its keys) goes into vendor-data, which
// cloud-init merges under the user-data, so the user's own settings win.
import { createHash } from "node:crypto";
import { parse as parseYaml, stringify } from "yaml";
import type { CloudInit } from "../api/gen/infrasim.v1.ts";
import type { PrivateNic } from "../qemu/args.ts";

export interface SeedInput {
  vmId: string;
  vmName: string;
  cloudInit: CloudInit;
  hostKey: { privateKey: string; publicKey: string };
  /** The keys to authorize: the user's, or the data dir's own when the user gave none. */
  authorizedKeys: string[];
  /** The user-mode NIC's MAC, when the VM has one; it keeps DHCP. */
  userMac?: string;
  /** NICs on private networks: static addresses from their networks. */
  nics?: PrivateNic[];
}

export interface SeedFiles {
  "meta-data": string;
  "user-data": string;
  "vendor-data": string;
  "network-config"?: string;
}

/** Changes whenever the input does, so cloud-init runs again at the next boot. */
export function instanceId(input: SeedInput): string {
  const h = createHash("sha256").update(JSON.stringify([
    input.vmId,
    input.cloudInit,
    input.hostKey.publicKey,
    input.authorizedKeys,
    input.nics ?? [],
  ])).digest("hex");
  return `iid-${input.vmId.slice(0, 8)}-${h.slice(0, 16)}`;
}

export function seedFiles(input: SeedInput): SeedFiles {
  const ci = input.cloudInit;
  const own = (ci.meta_data ? parseYaml(ci.meta_data) : null) ?? {};
  const meta = {
    "instance-id": instanceId(input),
    "local-hostname": ci.hostname || input.vmName,
    ...own,
  };
  const vendor = {
    ssh_keys: {
      ed25519_private: input.hostKey.privateKey,
      ed25519_public: input.hostKey.publicKey.trim(),
    },
    users: [
      "default",
      {
        name: ci.user,
        shell: "/bin/bash",
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: input.authorizedKeys.map((k) => k.trim()),
      },
    ],
  };
  const files: SeedFiles = {
    "meta-data": stringify(meta),
    "user-data": ci.user_data || "#cloud-config\n{}\n",
    "vendor-data": `#cloud-config\n${stringify(vendor)}`,
  };
  if (ci.network_config) files["network-config"] = ci.network_config;
  else if (input.nics?.length) files["network-config"] = networkConfig(input.userMac, input.nics);
  return files;
}

/**
 * network-config v2 for a VM with private NICs (without them the image's default, DHCP on
 * the first NIC, is right): NICs matched by MAC, the user-mode one on DHCP.
 */
export function networkConfig(userMac: string | undefined, nics: PrivateNic[]): string {
  const ethernets: Record<string, unknown> = {};
  if (userMac) ethernets.user0 = { match: { macaddress: userMac }, dhcp4: true };
  nics.forEach((n, i) => {
    ethernets[`net${i}`] = {
      match: { macaddress: n.mac },
      addresses: [`${n.ip}/${n.prefix}`],
      ...(n.mtu !== 1500 ? { mtu: n.mtu } : {}),
    };
  });
  return stringify({ version: 2, ethernets });
}
