// The bearer token that TCP callers must present. The daemon creates it in its data
// dir (0600) on first start; the CLI and the provider read it from there when they run
// as the same user, or take it from a flag, INFRASIM_TOKEN or the provider's `token`.
import { Buffer } from "node:buffer";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const TOKEN_FILE = "token";
/** The token a Prometheus scrape may use for /metrics instead of the daemon's. */
export const METRICS_TOKEN_FILE = "metrics-token";
export const AUTH_HEADER = "authorization";

function tokenPath(dataDir: string, file = TOKEN_FILE): string {
  return join(dataDir, file);
}

/** A token file of the daemon: read, or created with O_EXCL so two daemons never race. */
export function ensureToken(dataDir: string, file = TOKEN_FILE): string {
  const path = tokenPath(dataDir, file);
  try {
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(32).toString("base64url") + "\n");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`${path} is readable by others (mode ${(st.mode & 0o777).toString(8)})`);
    }
    const token = readFileSync(fd, "utf8").trim();
    if (token.length < 32) throw new Error(`${path} holds no usable token`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/** The token a client finds in a data dir it can read, or undefined. */
export function readToken(dataDir: string): string | undefined {
  try {
    return readFileSync(tokenPath(dataDir), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** "Bearer <token>" compared in constant time. */
export function tokenMatches(header: unknown, token: string): boolean {
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return false;
  const got = Buffer.from(header.slice("Bearer ".length));
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
