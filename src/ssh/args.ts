// The system ssh's command line for a VM: the host key is pinned through a known_hosts
// file the daemon wrote (under an alias, so the forwarded port may change), never
// trusted on first use and never added to the user's own known_hosts.
import type { SshAccess } from "../api/gen/infrasim.v1.ts";

/** batch: no terminal to ask on, so never prompt (a refused key fails at once). */
export function sshArgs(
  a: SshAccess,
  user: string,
  command: string[],
  batch = false,
): string[] {
  const args = [
    "-p",
    String(a.host_port),
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${a.known_hosts_path}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `HostKeyAlias=${a.host_key_alias}`,
    "-o",
    "ConnectTimeout=15",
  ];
  if (a.identity_path) args.push("-i", a.identity_path, "-o", "IdentitiesOnly=yes");
  if (batch) args.push("-o", "BatchMode=yes");
  args.push(`${user}@127.0.0.1`);
  if (command.length) args.push("--", ...command);
  return args;
}
