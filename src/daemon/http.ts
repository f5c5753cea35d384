// The daemon's loopback HTTP listener: /metrics for Prometheus, behind a bearer token
// made for scrape configs (never the API token: a scrape config that held it, sent to
// whoever holds the port while the daemon is down, would give away the whole API). Requests whose Host
// is not a loopback name are refused, so a web page cannot reach it by DNS rebinding.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tokenMatches } from "../api/auth.ts";
import { withTimeout } from "../timeout.ts";
import { log } from "./log.ts";
import { splitListen } from "./config.ts";

export interface HttpHandle {
  port: number;
  close(): Promise<void>;
}

export interface HttpRoutes {
  /** The token that opens /metrics. */
  token: string;
  metrics: { contentType: string; metrics(): Promise<string> };
}

const SCRAPE_TIMEOUT_MS = 10_000;
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

export async function startHttp(listen: string, routes: HttpRoutes): Promise<HttpHandle> {
  const server = createServer((req, res) => {
    handle(req, res, routes).catch((e) => {
      log.error("http request failed", { path: req.url?.slice(0, 100), error: String(e) });
      if (!res.headersSent) send(res, 500, "internal error\n");
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const { host, port } = splitListen(listen)!;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new Error(`cannot listen on ${listen}: ${e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, r: HttpRoutes): Promise<void> {
  if (!LOOPBACK_HOST.test(req.headers.host ?? "")) {
    return send(res, 421, "this listener answers loopback host names only\n");
  }
  const path = (req.url ?? "/").split("?")[0];
  if (path !== "/metrics") return send(res, 404, "not found\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, 405, "method not allowed\n");
  }
  if (!tokenMatches(req.headers.authorization, r.token)) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="infrasimd"');
    return send(
      res,
      401,
      "a bearer token is required: the data dir's metrics-token file\n",
    );
  }
  const body = await withTimeout(r.metrics.metrics(), SCRAPE_TIMEOUT_MS, "metrics scrape");
  res.writeHead(200, { "Content-Type": r.metrics.contentType, "Cache-Control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

function send(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(text);
}
