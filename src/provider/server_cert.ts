// The provider's TLS server certificate, cached between launches (0600, in a 0700
// directory) because Terraform starts the provider several times per command and
// generating one (plus loading the X.509 library) costs tens of milliseconds.
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ServerCert } from "./tls.ts";

interface Cached extends ServerCert {
  notAfter: string;
}

function cachePath(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "infrasim", "provider-tls.json");
}

function readCache(path: string): ServerCert | undefined {
  try {
    // Only a file nobody else can read is trusted.
    if ((statSync(path).mode & 0o077) !== 0) return undefined;
    const c = JSON.parse(readFileSync(path, "utf8")) as Cached;
    if (Date.parse(c.notAfter) - Date.now() < 3600_000) return undefined;
    if (!c.certPem || !c.keyPem || !c.certB64) return undefined;
    return c;
  } catch {
    return undefined;
  }
}

export async function serverCert(): Promise<ServerCert> {
  const path = cachePath();
  const cached = readCache(path);
  if (cached) return cached;
  // @peculiar/x509 needs reflect-metadata loaded first; bundlers may hoist static
  // imports past it, so both are loaded here, in order, and only when needed.
  await import("reflect-metadata");
  const { generateServerCert, VALIDITY_MS } = await import("./tls.ts");
  const cert = await generateServerCert();
  try {
    const dir = join(path, "..");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const tmp = `${path}.${process.pid}`;
    const entry: Cached = { ...cert, notAfter: new Date(Date.now() + VALIDITY_MS).toISOString() };
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, path);
  } catch { /* a read-only home still works, just slower */ }
  return cert;
}
