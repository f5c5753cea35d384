// The engine's control socket: one JSON request per line, one JSON reply per line. Bad
// input gets an error reply, never a crash: the engine carries traffic for every VM.
import { createServer, type Server, type Socket } from "node:net";
import {
  type CaptureRequest,
  type EngineReply,
  type EngineRequest,
  MAX_HOLD_MS,
} from "../network/engine_protocol.ts";
import type { Engine } from "./engine.ts";

/** A request line longer than this is refused (a configuration of thousands of links fits). */
const MAX_LINE = 4 << 20;

export function controlServer(engine: Engine): Server {
  return createServer((conn) => {
    let buf = "";
    let streaming = false;
    conn.setEncoding("utf8");
    conn.on("error", () => {});
    conn.on("data", (s: string) => {
      if (streaming) return; // a capture's client sends nothing more
      buf += s;
      if (buf.length > MAX_LINE) {
        conn.end(JSON.stringify({ ok: false, error: "request too long" }) + "\n");
        return;
      }
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const capture = parseCapture(line);
        if (capture) {
          const reply = startCapture(engine, conn, capture);
          streaming = reply.ok;
          if (streaming) return;
          conn.write(JSON.stringify(reply) + "\n");
          continue;
        }
        conn.write(JSON.stringify(handle(engine, line)) + "\n");
      }
    });
  });
}

function parseCapture(line: string): CaptureRequest | undefined {
  try {
    const req = JSON.parse(line) as EngineRequest;
    return req.op === "capture" ? req : undefined;
  } catch {
    return undefined;
  }
}

/** Answers the request, then turns the connection into the capture's pcapng stream. */
function startCapture(engine: Engine, conn: Socket, req: CaptureRequest): EngineReply {
  const links = req.links.map((id) => engine.link(id));
  const missing = req.links.filter((_, i) => !links[i]);
  if (missing.length) {
    return { ok: false, error: `no link ${JSON.stringify(missing[0]).slice(0, 80)}` };
  }
  conn.write(JSON.stringify({ ok: true }) + "\n");
  engine.captures.open(
    conn,
    links as { id: string; name: string }[],
    req.points,
    req.count,
    req.snaplen,
  );
  return { ok: true };
}

function handle(engine: Engine, line: string): EngineReply {
  try {
    const req = JSON.parse(line) as EngineRequest;
    switch (req.op) {
      case "apply":
        engine.apply(req.config);
        return { ok: true };
      case "stats":
        return { ok: true, stats: engine.stats() };
      case "hold":
        if (!Number.isInteger(req.ms) || req.ms < 1 || req.ms > MAX_HOLD_MS) {
          return { ok: false, error: `hold: ms must be an integer 1..${MAX_HOLD_MS}` };
        }
        engine.hold(req.ms);
        return { ok: true };
      case "release":
        engine.release();
        return { ok: true };
      default:
        return {
          ok: false,
          error: `unknown op ${JSON.stringify(String((req as { op: unknown }).op)).slice(0, 40)}`,
        };
    }
  } catch (e) {
    return { ok: false, error: (e as Error).message.slice(0, 200) };
  }
}
