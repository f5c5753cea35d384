// What the dashboard's listener sends besides the API: the page's own files, embedded in
// the executable at build time (gen/assets.ts, made by tasks/web.ts), and the sign-in
// page a browser without a session gets.
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { ASSETS } from "./gen/assets.ts";

export interface Asset {
  type: string;
  body: string;
}

/** The file served at a path: the app's shell for the page routes, its bundle beside it. */
export function asset(path: string): Asset | undefined {
  return ASSETS[path === "/" ? "/index.html" : path];
}

const zipped = new Map<string, Promise<Buffer>>();

/** An asset's gzip form, made once (off the event loop) on its first request. */
export function gzipped(path: string, a: Asset): Promise<Buffer> {
  let z = zipped.get(path);
  if (!z) zipped.set(path, z = promisify(gzip)(a.body, { level: 9 }));
  return z;
}

/** Headers of every page file: nothing framed, sniffed, or loaded from elsewhere. */
export function pageHeaders(host: string): Record<string, string> {
  return {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": `default-src 'self'; connect-src 'self' ws://${host}; ` +
      "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  };
}

export function signInPage(why: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="color-scheme" content="light dark"><title>InfraSim: sign in</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto">
<h1>InfraSim dashboard</h1><p>${why}</p>
<p>Run <code>infrasim dashboard</code> for a link that signs this browser in.</p>
</body></html>\n`;
}
