// The daemon's loopback HTTP listener: the dashboard (its page, its Connect API under
// /api/, its WebSockets under /ws/) and /metrics for Prometheus. A browser gets in only
// with a session cookie from a one-time login code; a scrape config with the metrics
// token (never the API token: a scrape config that held it, sent to whoever holds the
// port while the daemon is down, would give away the whole API). Requests whose Host is
// not a loopback name are refused, so a web page cannot reach it by DNS rebinding, and
// calls and WebSockets from another Origin are refused too.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { tokenMatches } from "../api/auth.ts";
import { withTimeout } from "../timeout.ts";
import { log } from "./log.ts";
import { splitListen } from "./config.ts";
import { cookieValue } from "./dashboard/session.ts";
import { gzipped, pageHeaders, signInPage } from "./dashboard/pages.ts";
import type { DashboardRoutes } from "./dashboard/routes.ts";

export interface HttpHandle {
  port: number;
  close(): Promise<void>;
}

export interface HttpRoutes {
  /** The token that opens /metrics. */
  token: string;
  metrics: { contentType: string; metrics(): Promise<string> };
  dashboard?: DashboardRoutes;
}

const SCRAPE_TIMEOUT_MS = 10_000;
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

export async function startHttp(listen: string, routes: HttpRoutes): Promise<HttpHandle> {
  // Per port, so two daemons on one machine keep their own browser sessions.
  let cookie = "";
  const server = createServer((req, res) => {
    handle(req, res, routes, cookie).catch((e) => {
      log.error("http request failed", { path: pathOf(req).slice(0, 100), error: String(e) });
      if (!res.headersSent) send(res, 500, "internal error\n");
      else res.destroy();
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (code: number, why: string) => {
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    socket.on("error", () => socket.destroy());
    const d = routes.dashboard;
    if (!d || !pathOf(req).startsWith("/ws/")) return refuse(404, "Not Found");
    if (!LOOPBACK_HOST.test(req.headers.host ?? "")) return refuse(421, "Misdirected Request");
    // Browsers always send Origin on a WebSocket; only the dashboard's own may connect.
    if (req.headers.origin !== `http://${req.headers.host}`) return refuse(403, "Forbidden");
    if (!d.sessions.touch(cookieValue(req.headers.cookie, cookie))) {
      return refuse(401, "Unauthorized");
    }
    d.upgrade(req, socket, head);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000; // the request only: Watch's response lasts as long as the page
  const { host, port } = splitListen(listen)!;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new Error(`cannot listen on ${listen}: ${e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  cookie = `infrasim_session_${bound}`;
  return {
    port: bound,
    close: () =>
      // Upgraded sockets are not the server's connections any more: end them first.
      withTimeout(
        new Promise<void>((resolve) => {
          routes.dashboard?.close();
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        5000,
        "closing the HTTP listener",
      ).catch((e) => log.warn("http listener closed late", { error: String(e) })),
  };
}

let lastRefusal = 0;

const pathOf = (req: IncomingMessage) => (req.url ?? "/").split("?")[0];

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  r: HttpRoutes,
  cookie: string,
): Promise<void> {
  if (!LOOPBACK_HOST.test(req.headers.host ?? "")) {
    return send(res, 421, "this listener answers loopback host names only\n");
  }
  const path = pathOf(req);
  const d = r.dashboard;
  const signedIn = () => d?.sessions.touch(cookieValue(req.headers.cookie, cookie)) ?? false;
  if (path === "/metrics") {
    if (req.method !== "GET" && req.method !== "HEAD") return notAllowed(res);
    if (!tokenMatches(req.headers.authorization, r.token) && !signedIn()) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="infrasimd"');
      return send(res, 401, "a bearer token is required: the data dir's metrics-token file\n");
    }
    const body = await withTimeout(r.metrics.metrics(), SCRAPE_TIMEOUT_MS, "metrics scrape");
    res.writeHead(200, { "Content-Type": r.metrics.contentType, "Cache-Control": "no-store" });
    return void res.end(req.method === "HEAD" ? undefined : body);
  }
  if (!d) return send(res, 404, "not found\n");
  if (path === "/login") {
    if (req.method !== "GET") return notAllowed(res);
    const code = new URL(req.url ?? "/", "http://x").searchParams.get("code") ?? "";
    const id = d.sessions.redeem(code.slice(0, 100));
    if (!id && signedIn()) return redirect(res, "/"); // an old link, in a browser still signed in
    if (!id) {
      // Any web page can send a browser here: say it once a minute at most.
      if (Date.now() - lastRefusal > 60_000) {
        lastRefusal = Date.now();
        log.warn("dashboard login refused: code unknown, used or expired");
      }
      return page(res, 401, signInPage("This login link was used or has expired."));
    }
    log.info("dashboard login");
    res.writeHead(303, {
      Location: "/",
      "Set-Cookie": `${cookie}=${id}; HttpOnly; SameSite=Strict; Path=/`,
      "Cache-Control": "no-store",
      "Referrer-Policy": "no-referrer",
    });
    return void res.end();
  }
  if (!signedIn()) return page(res, 401, signInPage("You are not signed in."));
  if (path.startsWith("/api/")) {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      return send(res, 403, "calls from another origin are refused\n");
    }
    return d.api(req, res);
  }
  if (path === "/capture") {
    if (req.method !== "GET") return notAllowed(res, "GET");
    // It starts a capture: only the page itself may ask (another page on a loopback port
    // is same-site, so the cookie alone does not tell).
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      return send(res, 403, "captures start from the dashboard's own page\n");
    }
    return await d.capture(req, res);
  }
  if (req.method !== "GET" && req.method !== "HEAD") return notAllowed(res);
  const asset = d.asset(path);
  if (!asset) return send(res, 404, "not found\n");
  const headers = {
    ...pageHeaders(req.headers.host!),
    "Content-Type": asset.type,
    Vary: "Accept-Encoding",
  };
  if (/\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) {
    const body = await gzipped(path, asset);
    res.writeHead(200, { ...headers, "Content-Encoding": "gzip" });
    return void res.end(req.method === "HEAD" ? undefined : body);
  }
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : asset.body);
}

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(303, { Location: to, "Cache-Control": "no-store" });
  res.end();
}

function page(res: ServerResponse, code: number, html: string): void {
  res.writeHead(code, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(html);
}

function notAllowed(res: ServerResponse, allow = "GET, HEAD"): void {
  res.setHeader("Allow", allow);
  send(res, 405, "method not allowed\n");
}

function send(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(text);
}
