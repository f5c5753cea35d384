// The daemon's side of a link engine's control socket, and its configuration file. The
// file is what an engine started anew reads (after a crash, or a daemon restart), so it is
// written, atomically, before every live change is sent.
import { connect, type Socket } from "node:net";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withTimeout } from "../timeout.ts";
import {
  type CaptureRequest,
  ENGINE_FILES,
  type EngineConfig,
  type EngineReply,
  type EngineRequest,
  type EngineStats,
} from "./engine_protocol.ts";

const REQUEST_TIMEOUT_MS = 3000;

export async function writeEngineConfig(dir: string, cfg: EngineConfig): Promise<void> {
  const path = join(dir, ENGINE_FILES.config);
  const tmp = `${path}.tmp`;
  await withTimeout(writeFile(tmp, JSON.stringify(cfg), { mode: 0o600 }), 5000, tmp);
  await rename(tmp, path);
}

/** One request, one reply; rejects on an error reply, a closed socket or the timeout. */
export async function engineRequest(
  dir: string,
  req: EngineRequest,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<EngineReply & { ok: true }> {
  const { socket, reply } = await exchange(dir, req, timeoutMs);
  socket.destroy();
  return reply;
}

export async function engineStats(dir: string): Promise<EngineStats> {
  return (await engineRequest(dir, { op: "stats" })).stats!;
}

/**
 * Starts a capture: resolves, once the engine has accepted it, with the socket the pcapng
 * stream arrives on and the stream's first bytes (what came with the reply).
 */
export async function openCapture(
  dir: string,
  req: CaptureRequest,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<{ socket: Socket; head: Uint8Array }> {
  const { socket, head } = await exchange(dir, req, timeoutMs);
  return { socket, head };
}

/**
 * Sends one request line and reads the reply line. Resolves with the socket, paused, and
 * whatever arrived after the reply; on an error reply, a closed socket or the timeout the
 * socket is destroyed and the promise rejects.
 */
function exchange(
  dir: string,
  req: EngineRequest,
  timeoutMs: number,
): Promise<{ socket: Socket; reply: EngineReply & { ok: true }; head: Uint8Array }> {
  const path = join(dir, ENGINE_FILES.control);
  const s = connect(path);
  let buf = new Uint8Array(0);
  const replied = new Promise<
    { socket: Socket; reply: EngineReply & { ok: true }; head: Uint8Array }
  >((resolve, reject) => {
    const onData = (d: Uint8Array) => {
      const joined = new Uint8Array(buf.length + d.length);
      joined.set(buf);
      joined.set(d, buf.length);
      buf = joined;
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      s.off("data", onData);
      s.pause();
      try {
        const reply = JSON.parse(new TextDecoder().decode(buf.subarray(0, nl))) as EngineReply;
        if (!reply.ok) throw new Error(`link engine: ${reply.error}`);
        resolve({ socket: s, reply, head: buf.subarray(nl + 1) });
      } catch (e) {
        reject(e);
      }
    };
    s.on("data", onData);
    s.on("connect", () => s.write(JSON.stringify(req) + "\n"));
    s.on("error", (e) => reject(new Error(`link engine unreachable: ${e.message}`)));
    s.on("close", () => reject(new Error("link engine closed the connection")));
  });
  return withTimeout(replied, timeoutMs, `link engine at ${path}`).catch((e) => {
    s.destroy();
    throw e;
  });
}
