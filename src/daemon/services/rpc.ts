// The gRPC side of every service: unary handlers that turn ApiErrors into their status
// (anything else is INTERNAL), and the status a stream ends with.
import type * as grpc from "@grpc/grpc-js";
import { ApiError, capMessage, Status } from "../../api/errors.ts";
import { unaryHandler } from "../../api/unary.ts";
import { log } from "../log.ts";

export function toStatus(e: unknown, method: string): Partial<grpc.StatusObject> {
  if (e instanceof ApiError) return { code: e.code, details: e.message };
  log.error("internal error", { method, error: (e as Error)?.stack ?? String(e) });
  return {
    code: Status.INTERNAL,
    details: capMessage(`internal error: ${(e as Error)?.message ?? e}`),
  };
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
