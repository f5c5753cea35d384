// The system ssh's command line for a VM: the host key is pinned through a known_hosts
// file the daemon wrote (under an alias, so the forwarded port may change), never
// trusted on first use and never added to the user's own known_hosts.
import type { SshAccess } from "../api/gen/infrasim.v1.ts";

export function sshArgs(a: SshAccess, user: string, command: string[]): string[] {
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
  args.push(`${user}@127.0.0.1`);
  if (command.length) args.push("--", ...command);
  return args;
}
