// SSH keys made with the system's ssh-keygen: a host key per VM (handed to the guest
// through cloud-init, so its public half can be pinned) and one user key per data dir
// (authorized when the user gives none, so `infrasim vm ssh` works out of the box).
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { failedPrecondition } from "../api/errors.ts";
import { findTool } from "../host/tools.ts";

export interface KeyPair {
  privateKey: string;
  publicKey: string;
  path: string;
}

export function keygenArgs(path: string, comment: string): string[] {
  return ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path];
}

/** Serializes generation per path: two starts must not race for one key. */
const pending = new Map<string, Promise<KeyPair>>();

/** The key pair at `path`, generated on first use (0600, in a 0700 dir). */
export function ensureKeyPair(path: string, comment: string): Promise<KeyPair> {
  const p = pending.get(path) ?? load(path, comment).finally(() => pending.delete(path));
  pending.set(path, p);
  return p;
}

async function load(path: string, comment: string): Promise<KeyPair> {
  const read = async (): Promise<KeyPair | undefined> => {
    try {
      const [privateKey, publicKey] = await Promise.all([
        readFile(path, "utf8"),
        readFile(`${path}.pub`, "utf8"),
      ]);
      return { privateKey, publicKey: publicKey.trim(), path };
    } catch {
      return undefined;
    }
  };
  const have = await read();
  if (have) return have;
  const tool = findTool("ssh-keygen");
  if (!tool) {
    throw failedPrecondition(
      "ssh-keygen is not installed (Debian: apt-get install openssh-client)",
    );
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await rm(path, { force: true });
  await rm(`${path}.pub`, { force: true });
  await new Promise<void>((resolve, reject) =>
    execFile(
      tool,
      keygenArgs(path, comment),
      { timeout: 15_000 },
      (err, _o, stderr) =>
        err ? reject(new Error(`ssh-keygen: ${String(stderr).trim() || err.message}`)) : resolve(),
    )
  );
  await chmod(path, 0o600);
  const made = await read();
  if (!made) throw new Error(`ssh-keygen made no key at ${path}`);
  return made;
}
