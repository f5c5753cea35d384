// Fixtures of the config tests: a short temp data dir, environment overrides, loading
// a given config.toml, and asserting the ConfigError it gives.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ConfigError,
  type ConfigFlags,
  type DaemonConfig,
  loadConfig,
} from "../../src/daemon/config.ts";

/** Runs fn with a fresh short temp dir (data_dir must stay within 50 characters). */
export function withDir(fn: (dir: string) => void): () => void {
  return () => {
    const dir = mkdtempSync("/tmp/isc-");
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Runs fn with environment variables set (undefined: unset), restoring them afterwards. */
export function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (k: string, v: string | undefined) =>
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  try {
    for (const [k, v] of Object.entries(vars)) set(k, v);
    fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) set(k, v);
  }
}

/** Writes dir/config.toml (null: none) and loads with --data-dir dir plus any other flags. */
export function load(dir: string, toml: string | null, flags: ConfigFlags = {}): DaemonConfig {
  const file = join(dir, "config.toml");
  if (toml === null) rmSync(file, { force: true });
  else writeFileSync(file, toml);
  return loadConfig({ dataDir: dir, ...flags });
}

export function assertConfigError(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    if (typeof expected === "string") assert.equal(e.message, expected);
    else assert.match(e.message, expected);
    return true;
  });
}
