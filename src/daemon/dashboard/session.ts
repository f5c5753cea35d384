// Dashboard logins: `infrasim dashboard` asks the daemon (over its authenticated API) for
// a one-time code; the browser trades the code for a session cookie at once, so what
// stays in the address bar and the history opens nothing. Codes and sessions live in
// memory only: a daemon restart logs every browser out.
import { randomBytes } from "node:crypto";

export const CODE_TTL_MS = 60_000;
/** A session ends after this long without a request. */
export const SESSION_IDLE_MS = 12 * 3600_000;
const MAX_CODES = 32;
const MAX_SESSIONS = 64;

const secret = () => randomBytes(32).toString("base64url");

export class Sessions {
  private codes = new Map<string, number>(); // code -> expiry
  private sessions = new Map<string, number>(); // id -> last use

  constructor(private now: () => number = Date.now) {}

  /** A fresh login code, good once within CODE_TTL_MS. */
  mintCode(): string {
    this.sweep();
    const code = secret();
    this.codes.set(code, this.now() + CODE_TTL_MS);
    // Oldest first: a flood of requests only ever pushes out unused codes.
    while (this.codes.size > MAX_CODES) this.codes.delete(this.codes.keys().next().value!);
    return code;
  }

  /** A new session for a valid code, which is spent whatever the outcome. */
  redeem(code: string): string | undefined {
    const expiry = this.codes.get(code);
    this.codes.delete(code);
    if (expiry === undefined || expiry < this.now()) return undefined;
    const id = secret();
    this.sessions.set(id, this.now());
    while (this.sessions.size > MAX_SESSIONS) {
      this.sessions.delete(this.sessions.keys().next().value!);
    }
    return id;
  }

  /** Whether a session id is live; using it keeps it so. */
  touch(id: string | undefined): boolean {
    if (!id) return false;
    const last = this.sessions.get(id);
    if (last === undefined) return false;
    if (this.now() - last > SESSION_IDLE_MS) {
      this.sessions.delete(id);
      return false;
    }
    // Last used goes last, so the oldest evicted is the least recently used.
    this.sessions.delete(id);
    this.sessions.set(id, this.now());
    return true;
  }

  private sweep() {
    const t = this.now();
    for (const [code, expiry] of this.codes) if (expiry < t) this.codes.delete(code);
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
