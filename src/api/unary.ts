// The one wrapper that serves a promise-returning function as a gRPC unary handler.
// The daemon and the provider differ only in how they log and map failures.
import type * as grpc from "@grpc/grpc-js";

export function unaryHandler<Req, Res>(
  /** The signal aborts when the client cancels or its deadline passes. */
  fn: (req: Req, signal: AbortSignal) => Promise<Res> | Res,
  hooks: { done(ms: number): void; fail(e: unknown): Partial<grpc.StatusObject> },
): grpc.handleUnaryCall<Req, Res> {
  return async (call, callback) => {
    const t0 = performance.now();
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort(new Error("the client went away")));
    try {
      callback(null, await fn(call.request, abort.signal));
      hooks.done(Math.round(performance.now() - t0));
    } catch (e) {
      callback(hooks.fail(e));
    }
  };
}
