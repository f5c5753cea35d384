// GET /capture: a link's frames as a pcapng file the browser downloads, through the same
// CaptureNetwork handler as `infrasim network capture`. A download must end, so it takes
// seconds or a frame count; the handler checks every number and names the field.
import type * as grpc from "@grpc/grpc-js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { once } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { serverStream } from "./connect.ts";

const COUNT_ONLY_LIMIT_S = 600;

const HTTP_OF: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.NotFound]: 404,
  [Code.FailedPrecondition]: 409,
  [Code.OutOfRange]: 400,
};

export async function captureDownload(
  network: grpc.UntypedServiceImplementation,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const q = new URL(req.url ?? "/", "http://x").searchParams;
  const fail = (code: number, text: string) => {
    res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`${text}\n`);
  };
  const ints: Record<string, number | undefined> = {};
  for (const name of ["interface", "count", "seconds", "snaplen"]) {
    const raw = q.get(name);
    if (raw === null || raw === "") continue;
    if (!/^\d{1,10}$/.test(raw)) return fail(400, `${name}: must be a whole number, 0 or more`);
    ints[name] = Number(raw);
  }
  if (!ints.count && !ints.seconds) {
    return fail(400, "seconds or count: a download must end, so give one of them");
  }
  const ref = (q.get("network") ?? "").slice(0, 100);
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  const chunks = serverStream(network, "CaptureNetwork", {
    ref,
    vm: (q.get("vm") ?? "").slice(0, 100),
    interface: ints.interface,
    point: (q.get("point") ?? "").slice(0, 20),
    count: ints.count ?? 0,
    // N frames of an idle link would never end: those downloads stop after 10 minutes.
    duration_seconds: ints.seconds || COUNT_ONLY_LIMIT_S,
    snaplen: ints.snaplen ?? 0,
  }, abort.signal);
  let first: IteratorResult<unknown>;
  try {
    first = await chunks.next(); // the handler's refusal comes before any byte
  } catch (e) {
    const err = ConnectError.from(e);
    return fail(HTTP_OF[err.code] ?? 500, err.rawMessage);
  }
  res.writeHead(200, {
    "Content-Type": "application/x-pcapng",
    "Content-Disposition": `attachment; filename="${ref.replace(/[^\w.-]/g, "_")}.pcapng"`,
    "Cache-Control": "no-store",
  });
  try {
    for (let r = first; !r.done; r = await chunks.next()) {
      const { data } = r.value as { data: Uint8Array };
      if (!res.write(data)) await once(res, "drain", { signal: abort.signal });
    }
    res.end();
  } catch {
    res.destroy(); // a cut download, not a complete-looking file
  }
}
