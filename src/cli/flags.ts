// Parsing the CLI's flags, and naming them in errors: an API field in an error
// ("spec.cpu_cores: ...") is reported as the flag the user typed ("--cpu: ...").
import { isAbsolute, resolve } from "node:path";
import { ApiError, Status } from "../api/errors.ts";
import type { DiskInput, PortInput } from "../api/specs.ts";

/** Bad command-line input: exit code 2. command: whose --help to point at, if not the running one. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
    /** The check that failed, when it was the API's validation: said in flags. */
    readonly apiError?: ApiError,
  ) {
    super(message);
  }
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * An integer flag. Without a range, it is checked where the spec is built, naming the
 * flag; with one, checked here, so a number never wraps when it is encoded. */
export function parseIntArg(flag: string, range?: readonly [number, number]) {
  return (v: string) => {
    if (!/^-?\d+$/.test(v)) {
      throw new UsageError(`${flag}: ${JSON.stringify(v.slice(0, 40))} is not an integer`);
    }
    const n = Number(v);
    if (range && (n < range[0] || n > range[1])) {
      throw new UsageError(`${flag}: must be between ${range[0]} and ${range[1]}`);
    }
    return n;
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

/**
 * The API fields a command's flags set: a field, or a field and everything below it,
 * to the flag (with words said before the message, for a part of one flag). "[]" in a
 * field stands for any index. Declared beside each command's options.
 */
export type FlagFields = Readonly<Record<string, string | readonly [string, string]>>;

const declared = new WeakMap<object, FlagFields>();

/** Declares which API fields a command's flags set (see FlagFields). */
export function flagFields<C extends object>(command: C, fields: FlagFields): C {
  declared.set(command, fields);
  return command;
}

export function flagFieldsOf(command: object | undefined): FlagFields {
  return (command && declared.get(command)) ?? {};
}

/** The flag (and words) for an API field: the entry that is its longest prefix. */
export function flagFor(field: string, fields: FlagFields): readonly [string, string] | undefined {
  const f = field.replace(/\[\d+\]/g, "[]");
  let best: [string, string | readonly [string, string]] | undefined;
  for (const entry of Object.entries(fields)) {
    const k = entry[0];
    const under = f === k || f.startsWith(`${k}.`) || f.startsWith(`${k}[`);
    if (under && (!best || k.length > best[0].length)) best = entry;
  }
  if (!best) return undefined;
  return typeof best[1] === "string" ? [best[1], ""] : best[1];
}

/**
 * An API error said in the command's terms: one line per field violation, its field as
 * the flag the user typed ("--memory: must be between 64 and 1048576").
 */
export function inFlagTerms(e: ApiError, fields: FlagFields): string[] {
  if (e.violations.length === 0) return [e.message];
  return e.violations.map((v) => {
    const flag = flagFor(v.field, fields);
    return flag ? `${flag[0]}: ${flag[1]}${v.description}` : `${v.field}: ${v.description}`;
  });
}

/**
 * An ApiError whose fields are renamed for one call, e.g. the volume `vm create --image`
 * makes: its spec.size_gb is --disk-size.
 */
export function renameFields(e: unknown, fields: FlagFields): unknown {
  if (!(e instanceof ApiError) || e.violations.length === 0) return e;
  const violations = e.violations.map((v) => ({
    field: flagFor(v.field, fields)?.[0] ?? v.field,
    description: v.description,
  }));
  return new ApiError(e.code, e.message, violations);
}

/** ApiErrors of INVALID_ARGUMENT raised by checks the CLI runs itself: usage errors, exit 2. */
export function localUsage(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError && e.code === Status.INVALID_ARGUMENT) {
      throw new UsageError(e.message, undefined, e);
    }
    throw e;
  }
}
