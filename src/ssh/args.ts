// The system ssh's command line for a VM: the host key is pinned through a known_hosts
// file the daemon wrote (under an alias, so the forwarded port may change), never
// trusted on first use and never added to the user's own known_hosts.
import type { SshAccess } from "../api/gen/infrasim.v1.ts";

/** What the user adds (`infrasim vm ssh -i -o -A -L`), already checked. */
export interface SshExtras {
  /** -i: private key files, absolute; offered instead of the daemon's key. */
  identities?: string[];
  /** -o: ssh options (sshOptionProblem says which are refused); they win over InfraSim's defaults. */
  options?: string[];
  /** -A: forward the agent. */
  forwardAgent?: boolean;
  /** -L: local forwards, as ssh takes them. */
  localForwards?: string[];
}

/**
 * The options that pin the guest's host key (what InfraSim sets, and what would trust or
 * rewrite other keys): an -o may not set them.
 */
export const PINNED_OPTIONS = [
  "StrictHostKeyChecking",
  "UserKnownHostsFile",
  "GlobalKnownHostsFile",
  "HostKeyAlias",
  "KnownHostsCommand",
  "UpdateHostKeys",
] as const;

/**
 * Why an `-o` option cannot be passed to ssh, or undefined when it can. ssh reads
 * `Key=Value` or `Key Value`, the keyword in any case.
 */
export function sshOptionProblem(option: string): string | undefined {
  const m = option.match(/^\s*([A-Za-z][A-Za-z0-9]*)(?:(?:\s*=\s*|\s+)(\S.*)?)?$/s);
  if (!m) return `${JSON.stringify(option)} is not an ssh option (Key=Value, as for ssh -o)`;
  const pinned = PINNED_OPTIONS.find((p) => p.toLowerCase() === m[1].toLowerCase());
  if (pinned) {
    return `${pinned} cannot be changed: infrasim pins the guest's host key (the one the ` +
      `daemon made) and checks it strictly`;
  }
  if (m[2] === undefined) return `${JSON.stringify(option)} has no value (Key=Value)`;
  return undefined;
}

/**
 * batch: no terminal to ask on, so never prompt (a refused key fails at once).
 * ssh takes the first value it gets for an option: the pinned ones come first, then the
 * user's -o, then InfraSim's defaults, which those may change.
 */
export function sshArgs(
  a: SshAccess,
  user: string,
  command: string[],
  batch = false,
  extras: SshExtras = {},
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
  ];
  for (const o of extras.options ?? []) args.push("-o", o);
  args.push("-o", "ConnectTimeout=15");
  // The user's keys replace the daemon's; either way ssh offers only those.
  const identities = extras.identities?.length
    ? extras.identities
    : a.identity_path
    ? [a.identity_path]
    : [];
  for (const i of identities) args.push("-i", i);
  if (identities.length) args.push("-o", "IdentitiesOnly=yes");
  if (batch) args.push("-o", "BatchMode=yes");
  if (extras.forwardAgent) args.push("-A");
  for (const l of extras.localForwards ?? []) args.push("-L", l);
  args.push(`${user}@127.0.0.1`);
  if (command.length) args.push("--", ...command);
  return args;
}
