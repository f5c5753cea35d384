// The engine's control socket: one JSON request per line, one JSON reply per line. Bad
// input gets an error reply, never a crash: the engine carries traffic for every VM.
import { createServer, type Server } from "node:net";
import type { EngineReply, EngineRequest } from "../network/engine_protocol.ts";
import type { Engine } from "./engine.ts";

/** A request line longer than this is refused (a configuration of thousands of links fits). */
const MAX_LINE = 4 << 20;

export function controlServer(engine: Engine): Server {
  return createServer((conn) => {
    let buf = "";
    conn.setEncoding("utf8");
    conn.on("error", () => {});
    conn.on("data", (s: string) => {
      buf += s;
      if (buf.length > MAX_LINE) {
        conn.end(JSON.stringify({ ok: false, error: "request too long" }) + "\n");
        return;
      }
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) conn.write(JSON.stringify(handle(engine, line)) + "\n");
      }
    });
  });
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
