// Where an image comes from: a regular file on the daemon's host (checked like every
// user path) or an http(s) URL. Either way a stream of chunks, never read into memory,
// with every wait bounded: the response headers, and each chunk after the last.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { ApiError, invalid, quote } from "../api/errors.ts";
import { checkUserFile } from "../host/files.ts";

export interface Source {
  chunks: AsyncIterable<Uint8Array>;
  /** Bytes the source says it has; undefined when it does not (no Content-Length). */
  total?: number;
}

const HEADERS_TIMEOUT_MS = 30_000;
/** A download that sends nothing for this long is abandoned. */
export const IDLE_TIMEOUT_MS = 60_000;
const FIELD = "spec.source";

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export async function openSource(
  source: string,
  dataDir: string,
  signal: AbortSignal,
): Promise<Source> {
  if (!source) throw invalid(FIELD, "must be an absolute path or an http(s):// URL");
  if (isUrl(source)) return await openUrl(source, signal);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw invalid(FIELD, `${quote(source)}: only http:// and https:// URLs are supported`);
  }
  const real = await checkUserFile(source, FIELD, dataDir);
  const total = (await stat(real)).size;
  return { chunks: createReadStream(real, { highWaterMark: 4 << 20, signal }), total };
}

async function openUrl(url: string, signal: AbortSignal): Promise<Source> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(FIELD, `${quote(url)} is not a URL`);
  }
  // The address as errors say it, without credentials.
  const shown = quote(`${parsed.protocol}//${parsed.host}${parsed.pathname}`);
  const headers = AbortSignal.any([signal, AbortSignal.timeout(HEADERS_TIMEOUT_MS)]);
  let res: Response;
  try {
    res = await fetch(url, { signal: headers, redirect: "follow" });
  } catch (e) {
    if (signal.aborted) throw e;
    const why = (e as Error).name === "TimeoutError"
      ? `no response within ${HEADERS_TIMEOUT_MS / 1000} s`
      : (e as Error).message;
    throw invalid(FIELD, `${shown}: ${why}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw invalid(FIELD, `${shown}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  const length = Number(res.headers.get("content-length"));
  return {
    chunks: idleBounded(res.body, signal, shown),
    total: Number.isFinite(length) && length > 0 ? length : undefined,
  };
}

/** The body's chunks; throws when none arrives for IDLE_TIMEOUT_MS or on abort. */
async function* idleBounded(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  shown: string,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  const onAbort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort);
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(invalid(FIELD, `${shown}: no data for ${IDLE_TIMEOUT_MS / 1000} s`)),
          IDLE_TIMEOUT_MS,
        );
      });
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await Promise.race([reader.read(), idle]);
      } catch (e) {
        if (signal.aborted) throw signal.reason ?? e;
        if (e instanceof ApiError) throw e;
        const why = String((e as Error)?.message ?? e).split(".")[0].slice(0, 100);
        throw invalid(FIELD, `${shown}: the download broke off (${why})`);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}
