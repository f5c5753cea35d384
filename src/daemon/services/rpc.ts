// The gRPC side of every service: unary handlers that turn ApiErrors into their status
// (anything else is INTERNAL), and the status a stream ends with.
import * as grpc from "@grpc/grpc-js";
import { ApiError, capMessage, Status } from "../../api/errors.ts";
import { DETAILS_KEY, encodeDetails } from "../../api/status_details.ts";
import { unaryHandler } from "../../api/unary.ts";
import type { RpcKind } from "../../api/rpc_types.ts";
import { log } from "../log.ts";

export function toStatus(e: unknown, method: string): Partial<grpc.StatusObject> {
  if (e instanceof ApiError) {
    if (e.violations.length === 0) return { code: e.code, details: e.message };
    // Every violation as data, beside the message that says them all.
    const metadata = new grpc.Metadata();
    metadata.set(DETAILS_KEY, encodeDetails(e.code, e.message, e.violations));
    return { code: e.code, details: e.message, metadata };
  }
  log.error("internal error", { method, error: (e as Error)?.stack ?? String(e) });
  return {
    code: Status.INTERNAL,
    details: capMessage(`internal error: ${(e as Error)?.message ?? e}`),
  };
}

/**
 * A service's handlers (the generated `<Service>Handlers`) as grpc-js serves them: every
 * unary one wrapped (timing, errors to status), streams as they are.
 */
export function serve<H extends object>(
  shape: Readonly<Record<keyof H, RpcKind>>,
  handlers: H,
): grpc.UntypedServiceImplementation {
  return Object.fromEntries(
    Object.entries(handlers).map(([name, h]) => [
      name,
      shape[name as keyof H] === "unary" ? unary(name, h as never) : h,
    ]),
  ) as grpc.UntypedServiceImplementation;
}

export function unary<Req, Res>(
  name: string,
  fn: (req: Req, signal: AbortSignal) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return unaryHandler(fn, {
    done: (ms) => log.debug("rpc", { method: name, ms }),
    fail: (e) => toStatus(e, name),
  });
}
