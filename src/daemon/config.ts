// infrasimd configuration: defaults < config.toml < command-line flags. Unknown keys
// and bad values stop startup with a message that names the key (and the known key
// a typo most likely meant); TOML syntax errors give the line. docs/config.md
// documents every key; keep the two in step.
import { parse as parseToml } from "smol-toml";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { isIP } from "node:net";
import { type Accelerator, ACCELERATORS } from "../api/validate/common.ts";
import { defaultDataDir } from "../api/client.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DaemonConfig {
  data_dir: string;
  /** TCP listen address, loopback only; "" disables TCP. */
  listen: string;
  log_level: LogLevel;
  stop_timeout_seconds: number;
  qemu: {
    accelerator: Accelerator | "auto";
    binary_x86_64: string;
    binary_aarch64: string;
  };
  ports: { range_start: number; range_end: number };
  /** How many changes the change feed keeps for watchers that resume. */
  events: { keep: number };
  /** The loopback HTTP listener (/metrics); "" turns it off. */
  http: { listen: string };
}

export class ConfigError extends Error {}

export function defaults(): DaemonConfig {
  return {
    data_dir: defaultDataDir(),
    listen: "127.0.0.1:50051",
    log_level: "info",
    stop_timeout_seconds: 30,
    qemu: { accelerator: "auto", binary_x86_64: "", binary_aarch64: "" },
    ports: { range_start: 20000, range_end: 29999 },
    events: { keep: 10_000 },
    http: { listen: "127.0.0.1:50080" },
  };
}

function expandHome(p: string): string {
  return p === "~" ? homedir() : p.startsWith("~/") ? join(homedir(), p.slice(2)) : p;
}

type Checker = (v: unknown, key: string) => unknown;
const str: Checker = (v, key) => {
  if (typeof v !== "string") throw new ConfigError(`${key}: must be a string`);
  return v;
};
const oneOf = (allowed: readonly string[]): Checker => (v, key) => {
  if (typeof v !== "string" || !allowed.includes(v)) {
    throw new ConfigError(
      `${key}: must be one of ${allowed.join(", ")} (got ${JSON.stringify(v)})`,
    );
  }
  return v;
};
const int = (min: number, max: number): Checker => (v, key) => {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${key}: must be an integer between ${min} and ${max}`);
  }
  return n;
};

const SCHEMA: Record<string, Checker | Record<string, Checker>> = {
  data_dir: str,
  listen: str,
  log_level: oneOf(LOG_LEVELS),
  stop_timeout_seconds: int(1, 3600),
  qemu: {
    accelerator: oneOf(["auto", ...ACCELERATORS]),
    binary_x86_64: str,
    binary_aarch64: str,
  },
  ports: { range_start: int(1024, 65535), range_end: int(1024, 65535) },
  events: { keep: int(100, 10_000_000) },
  http: { listen: str },
};

/** Every key a config file may hold: the top-level ones, the tables and "table.key". */
const KNOWN_KEYS = Object.entries(SCHEMA).flatMap(([k, v]) =>
  typeof v === "function" ? [k] : [k, ...Object.keys(v).map((sub) => `${k}.${sub}`)]
);

/** Levenshtein distance, case-insensitive: "Log-Level" is one edit from "log_level". */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The known key an unknown one most likely meant, or undefined when none is close: a
 * few edits away (a third of its length), or a part of one of at least 4 characters. The
 * last part is compared too, so `accelerator` at the top level finds qemu.accelerator.
 */
export function closestKey(key: string, known: readonly string[] = KNOWN_KEYS): string | undefined {
  const leaf = (k: string) => k.slice(k.lastIndexOf(".") + 1);
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const part = leaf(key).length >= 4 && leaf(k).toLowerCase().includes(leaf(key).toLowerCase());
    const d = part ? 0.5 : Math.min(editDistance(key, k), editDistance(leaf(key), leaf(k)));
    if (d < bestScore) [best, bestScore] = [k, d];
  }
  const limit = Math.max(1, Math.floor(leaf(key).length / 3));
  return bestScore <= limit && best !== key ? best : undefined;
}

function unknownKey(source: string, key: string): ConfigError {
  const near = closestKey(key);
  const hint = !near
    ? ""
    : near.includes(".")
    ? `; did you mean "${near}" (${near.split(".")[1]} in the [${near.split(".")[0]}] table)?`
    : `; did you mean "${near}"?`;
  return new ConfigError(`${source}: unknown key "${key}"${hint}`);
}

/** Merges a parsed TOML table into cfg, rejecting unknown keys and bad values. */
function apply(cfg: DaemonConfig, table: Record<string, unknown>, source: string): void {
  for (const [key, value] of Object.entries(table)) {
    const check = SCHEMA[key];
    if (!check) throw unknownKey(source, key);
    if (typeof check === "function") {
      // deno-lint-ignore no-explicit-any
      (cfg as any)[key] = check(value, `${source}: ${key}`);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError(`${source}: [${key}] must be a table`);
    }
    for (const [sub, v] of Object.entries(value)) {
      const c = check[sub];
      if (!c) throw unknownKey(source, `${key}.${sub}`);
      // deno-lint-ignore no-explicit-any
      (cfg as any)[key][sub] = c(v, `${source}: ${key}.${sub}`);
    }
  }
}

/** A TOML syntax error as one line with its position (smol-toml adds a code excerpt). */
function tomlErrorMessage(path: string, e: unknown): string {
  const err = e as { message?: string; line?: number; column?: number };
  const what = String(err.message ?? e).split("\n")[0].replace(/^Invalid TOML document: /, "");
  const at = err.line ? ` line ${err.line}${err.column ? `, column ${err.column}` : ""}:` : "";
  return `${path}:${at} invalid TOML: ${what}`;
}

export interface ConfigFlags {
  config?: string;
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  accelerator?: string;
  httpListen?: string;
}

/** A listen address as host and port ("[::1]:80" too); undefined when it is not host:port. */
export function splitListen(listen: string): { host: string; port: number } | undefined {
  const m = listen.match(/^(?:\[([^[\]]+)\]|([^:[\]]+)):(\d+)$/);
  return m ? { host: m[1] ?? m[2], port: Number(m[3]) } : undefined;
}

/** Accepts only loopback hosts: 127.0.0.0/8, ::1 and localhost. */
export function checkLoopback(listen: string, key = "listen"): void {
  if (listen === "") return;
  const at = splitListen(listen);
  if (!at) throw new ConfigError(`${key}: ${JSON.stringify(listen)} is not host:port`);
  const { host, port } = at;
  if (port > 65535) throw new ConfigError(`${key}: port ${port} is out of range`);
  const loopback = host === "localhost" || host === "::1" ||
    (isIP(host) === 4 && host.startsWith("127."));
  if (!loopback) {
    throw new ConfigError(
      `${key}: ${host} is not a loopback address; infrasimd only listens on 127.0.0.1, ::1 or localhost`,
    );
  }
}

export function loadConfig(flags: ConfigFlags): DaemonConfig {
  const cfg = defaults();
  const explicit = flags.config !== undefined;
  const dataDirForDefault = flags.dataDir ? resolve(expandHome(flags.dataDir)) : cfg.data_dir;
  const path = explicit
    ? resolve(expandHome(flags.config!))
    : join(dataDirForDefault, "config.toml");
  if (existsSync(path)) {
    let table: Record<string, unknown>;
    try {
      table = parseToml(readFileSync(path, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(tomlErrorMessage(path, e));
    }
    apply(cfg, table, path);
  } else if (explicit) {
    throw new ConfigError(`--config: ${path} does not exist`);
  }
  const fl: Record<string, unknown> = {};
  if (flags.dataDir !== undefined) fl.data_dir = flags.dataDir;
  if (flags.listen !== undefined) fl.listen = flags.listen;
  if (flags.logLevel !== undefined) fl.log_level = flags.logLevel;
  apply(cfg, fl, "flag");
  if (flags.httpListen !== undefined) apply(cfg, { http: { listen: flags.httpListen } }, "flag");
  if (flags.accelerator !== undefined) {
    apply(cfg, { qemu: { accelerator: flags.accelerator } }, "flag");
  }

  cfg.data_dir = resolve(expandHome(cfg.data_dir));
  if (!isAbsolute(cfg.data_dir)) throw new ConfigError("data_dir: must be an absolute path");
  // Unix socket paths are limited to ~104 bytes; the longest is <data_dir>/vms/<uuid>/serial.sock.
  if (cfg.data_dir.length > 50) {
    throw new ConfigError(
      `data_dir: ${cfg.data_dir} is ${cfg.data_dir.length} characters; at most 50 fit the unix socket path limit`,
    );
  }
  checkLoopback(cfg.listen);
  checkLoopback(cfg.http.listen, "http.listen");
  if (cfg.ports.range_start > cfg.ports.range_end) {
    throw new ConfigError("ports.range_start: must not be above ports.range_end");
  }
  return cfg;
}
