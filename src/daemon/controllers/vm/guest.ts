// What a VM with cloud_init gets at each start: its host key (made once, kept in the VM's
// dir), a fresh NoCloud seed in the run dir, and the facts `infrasim vm ssh` needs to
// check that host key strictly.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { writeSeed } from "../../../cloudinit/iso.ts";
import { seedFiles } from "../../../cloudinit/seed.ts";
import { ensureKeyPair } from "../../../ssh/keys.ts";
import { macAddress, type PrivateNic } from "../../../qemu/args.ts";

export interface GuestSetup {
  seed: string;
  ssh: T.SshAccess;
}

export const userKeyPath = (dataDir: string) => join(dataDir, "ssh", "id_ed25519");
export const hostKeyAlias = (vmId: string) => `infrasim-${vmId}`;

export async function prepareGuest(
  vm: { id: string; name: string; spec: T.VmSpec },
  ports: T.PortForward[],
  vmDir: string,
  dataDir: string,
  nics: PrivateNic[] = [],
): Promise<GuestSetup | undefined> {
  const ci = vm.spec.cloud_init;
  if (!ci) return undefined;
  const hostKey = await ensureKeyPair(join(vmDir, "ssh_host_ed25519_key"), hostKeyAlias(vm.id));
  const own = ci.ssh_authorized_keys ?? [];
  const userKey = own.length ? undefined : await ensureKeyPair(userKeyPath(dataDir), "infrasim");
  const seed = join(vmDir, "cidata.iso");
  await writeSeed(
    seedFiles({
      vmId: vm.id,
      vmName: vm.name,
      cloudInit: ci,
      hostKey,
      authorizedKeys: userKey ? [userKey.publicKey] : own,
      userMac: vm.spec.network?.mode === "none" ? undefined : macAddress(vm.id, 0),
      nics,
    }),
    seed,
  );
  const alias = hostKeyAlias(vm.id);
  const knownHosts = join(vmDir, "known_hosts");
  await writeFile(knownHosts, `${alias} ${hostKey.publicKey}\n`, { mode: 0o600 });
  const fwd = ports.find((p) => p.protocol === "tcp" && p.guest_port === 22);
  return {
    seed,
    ssh: {
      user: ci.user,
      host_port: fwd?.host_port ?? 0,
      host_key: hostKey.publicKey,
      known_hosts_path: knownHosts,
      host_key_alias: alias,
      identity_path: userKey?.path ?? "",
    },
  };
}
