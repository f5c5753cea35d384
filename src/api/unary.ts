// The one wrapper that serves a promise-returning function as a gRPC unary handler.
// The daemon and the provider differ only in how they log and map failures.
import type * as grpc from "@grpc/grpc-js";

export function unaryHandler<Req, Res>(
  fn: (req: Req) => Promise<Res> | Res,
  hooks: { done(ms: number): void; fail(e: unknown): Partial<grpc.StatusObject> },
): grpc.handleUnaryCall<Req, Res> {
  return async (call, callback) => {
    const t0 = performance.now();
    try {
      callback(null, await fn(call.request));
      hooks.done(Math.round(performance.now() - t0));
    } catch (e) {
      callback(hooks.fail(e));
    }
  };
}
