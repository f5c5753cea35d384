// Parsing the CLI's flags, and naming them in errors: an API field in an error
// ("spec.cpu_cores: ...") is reported as the flag the user typed ("--cpu: ...").
import { isAbsolute, resolve } from "node:path";
import { ApiError, Status } from "../api/errors.ts";
import type { DiskInput, PortInput } from "../api/specs.ts";

/** Bad command-line input: exit code 2. command: whose --help to point at, if not the running one. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** An integer flag; the range is checked where the spec is built, naming the flag. */
export function parseIntArg(flag: string) {
  return (v: string) => {
    if (!/^-?\d+$/.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not an integer`);
    return Number(v);
  };
}

export function parseKeyValues(flag: string, items: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf("=");
    if (i <= 0) throw new UsageError(`${flag}: ${JSON.stringify(item)} is not key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** "8080:80", "0:80", "80" (host port allocated), optionally "/udp". */
export function parsePorts(items: string[] = []): PortInput[] {
  return items.map((item) => {
    const m = item.match(/^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/);
    if (!m) throw new UsageError(`--port: ${JSON.stringify(item)} is not [HOST:]GUEST[/tcp|udp]`);
    return { hostPort: Number(m[1] ?? 0), guestPort: Number(m[2]), protocol: m[3] ?? "tcp" };
  });
}

/** A path as the daemon needs it: relative ones are taken from the current directory. */
export function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(process.cwd(), path);
}

/** "path" or "path:ro". */
export function parseDisk(item: string): DiskInput {
  const ro = item.endsWith(":ro");
  return { path: absolute(ro ? item.slice(0, -3) : item), readOnly: ro };
}

/** API field -> [flag, words put before the message]. */
const FLAGS: Array<[RegExp, string, string]> = [
  [/^meta\.name$/, "--name", ""],
  [/^meta\.labels/, "--label", ""],
  [/^spec\.arch$/, "--arch", ""],
  [/^spec\.machine$/, "--machine", ""],
  [/^spec\.cpu_cores$/, "--cpu", ""],
  [/^spec\.memory_mb$/, "--memory", ""],
  [/^spec\.boot\.kernel\.kernel_path$/, "--kernel", ""],
  [/^spec\.boot\.kernel\.initrd_path$/, "--initrd", ""],
  [/^spec\.boot\.kernel\.cmdline$/, "--cmdline", ""],
  [/^spec\.boot\.disk\.path$/, "--disk", "the first (boot) disk: "],
  [/^spec\.boot\.volume/, "--boot-volume", ""],
  [/^spec\.volumes/, "--volume", ""],
  [/^spec\.cloud_init\.ssh_authorized_keys/, "--ssh-key", ""],
  [/^spec\.cloud_init\.hostname$/, "--hostname", ""],
  [/^spec\.cloud_init\.user_data$/, "--user-data", ""],
  [/^spec\.wait_for\.guest_port$/, "--wait-port", ""],
  [/^spec\.wait_for\.serial$/, "--wait-serial", ""],
  [/^spec\.image$/, "--image", ""],
  [/^spec\.size_gb$/, "--size", ""],
  [/^spec\.disks\[\d+\]\.\w+$/, "--disk", ""],
  [/^spec\.network\.port_forwards\[\d+\]\.host_port$/, "--port", "host port "],
  [/^spec\.network\.port_forwards\[\d+\]\.guest_port$/, "--port", "guest port "],
  [/^spec\.network\.port_forwards/, "--port", ""],
  [/^spec\.accelerator$/, "--accelerator", ""],
  [/^spec\.network_interfaces/, "--network", ""],
  [/^spec\.cidr$/, "--cidr", ""],
  [/^spec\.mtu$/, "--mtu", ""],
  [/^timeout_seconds$/, "--timeout", ""],
  [/^spec\.source$/, "<source>", ""],
  [/^spec\.sha256$/, "--sha256", ""],
];

/** The message of an API error with its field said as a flag, when one is known. */
export function inFlagTerms(e: ApiError): string {
  const m = e.message.match(/^([\w.[\]"]+): (.*)$/s);
  if (m) {
    for (const [re, flag, words] of FLAGS) if (re.test(m[1])) return `${flag}: ${words}${m[2]}`;
  }
  return e.message;
}

/** An ApiError raised by checks the CLI runs itself, before anything is sent: exit 2. */
export function localUsage(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError && e.code === Status.INVALID_ARGUMENT) {
      throw new UsageError(inFlagTerms(e));
    }
    throw e;
  }
}
