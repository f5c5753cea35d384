// The shapes the generated code (src/api/gen/<package>.client.ts and the service glue in
// <package>.ts) is written against: how a client makes calls, and what a server's
// handlers look like, per kind of RPC.
import type * as grpc from "@grpc/grpc-js";

/** Requests may leave out any field; the wire fills in defaults. */
export type DeepPartial<X> = X extends Uint8Array ? X
  : X extends (infer E)[] ? DeepPartial<E>[]
  : X extends object ? { [P in keyof X]?: DeepPartial<X[P]> | null }
  : X;

export interface CallOptions {
  /** Seconds until the call is abandoned with DEADLINE_EXCEEDED. */
  timeoutSeconds?: number;
}

/** How the generated client reaches the daemon. */
export interface Transport {
  unary<Res>(service: string, method: string, req: unknown, o?: CallOptions): Promise<Res>;
  serverStream<Res>(service: string, method: string, req: unknown): grpc.ClientReadableStream<Res>;
  duplex<Req, Res>(service: string, method: string): grpc.ClientDuplexStream<Req, Res>;
}

/** A unary handler: the request (every field filled in) and a signal for a client gone. */
export type UnaryHandler<Req, Res> = (
  req: Req,
  signal: AbortSignal,
) => Promise<DeepPartial<Res>> | DeepPartial<Res>;
export type ServerStreamHandler<Req, Res> = (call: grpc.ServerWritableStream<Req, Res>) => void;
export type DuplexHandler<Req, Res> = (call: grpc.ServerDuplexStream<Req, Res>) => void;
export type ClientStreamHandler<Req, Res> = (
  call: grpc.ServerReadableStream<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
) => void;

/** What kind of RPC each method of a service is (the generated `<Service>Shape`). */
export type RpcKind = "unary" | "serverStream" | "clientStream" | "duplex";
