// The API over Connect for the dashboard: the very handlers the gRPC servers run, called
// through a thin bridge. A request's bytes are decoded the way grpc-js decodes them
// (proto-loader), so every handler, validation and error mapping is shared; only the
// framing differs. Unary and server-streaming methods are served (what Connect carries
// over HTTP/1.1); the console's bidi stream has its own WebSocket.
import {
  type Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
} from "@connectrpc/connect";
import { type DescMethod, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { serviceClient } from "../../api/proto.ts";
import type { CallObserver, ServiceImpl } from "../server.ts";

type Status = Partial<grpc.StatusObject>;
type Handler = (call: unknown, callback?: (e: Status | null, v?: unknown) => void) => void;

/** The grpc-js call surface the handlers use, fed by one Connect request. */
class BridgeCall extends EventEmitter {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  constructor(readonly request: unknown, signal: AbortSignal) {
    super();
    const cancel = () => {
      if (this.cancelled) return;
      this.cancelled = true;
      this.emit("cancelled");
    };
    if (signal.aborted) queueMicrotask(cancel);
    else signal.addEventListener("abort", cancel, { once: true });
  }
  getPeer() {
    return "dashboard";
  }
  getDeadline() {
    return Infinity;
  }
  sendMetadata() {}
}

/** A server-stream call: writes queue up until the Connect response reads them. */
class StreamCall extends BridgeCall {
  static readonly HIGH_WATER = 64;
  private queue: Array<{ msg: unknown; cb?: () => void }> = [];
  private done = false;
  private failure?: ConnectError;
  private wake?: () => void;
  private wantsDrain = false;

  constructor(request: unknown, signal: AbortSignal) {
    super(request, signal);
    // Handlers end a stream with an error by emitting it, as on grpc-js.
    this.on("error", (s: Status) => {
      this.failure ??= connectError(s);
      this.finish();
    });
    // A browser that went away ends the stream here too, whatever the handler does next.
    this.on("cancelled", () => this.finish());
  }
  get writableLength() {
    return this.queue.length;
  }
  write(msg: unknown, cb?: () => void): boolean {
    if (this.done) return false;
    this.queue.push({ msg, cb });
    this.wake?.();
    const ok = this.queue.length < StreamCall.HIGH_WATER;
    if (!ok) this.wantsDrain = true;
    return ok;
  }
  end() {
    this.finish();
  }
  private finish() {
    this.done = true;
    this.wake?.();
  }
  async *messages(): AsyncGenerator<unknown> {
    try {
      for (;;) {
        if (this.cancelled) return; // nobody reads what is still queued
        const next = this.queue.shift();
        if (next) {
          yield next.msg;
          next.cb?.();
          if (this.wantsDrain && this.queue.length === 0) {
            this.wantsDrain = false;
            this.emit("drain");
          }
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.done) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      // The browser went away (or the stream ended): the handler lets go of its sources.
      if (!this.done && !this.cancelled) {
        this.cancelled = true;
        this.emit("cancelled");
      }
    }
  }
}

/** A grpc-js server-streaming handler's messages, as it writes them. */
export function serverStream(
  impl: grpc.UntypedServiceImplementation,
  method: string,
  request: unknown,
  signal: AbortSignal,
): AsyncGenerator<unknown> {
  const call = new StreamCall(request, signal);
  (impl[method] as Handler)(call);
  return call.messages();
}

function connectError(s: Status): ConnectError {
  // Connect's codes are gRPC's, number for number.
  return new ConnectError(s.details ?? "failed", (s.code ?? grpc.status.UNKNOWN) as number as Code);
}

/**
 * Registers each service's unary and server-streaming methods, except `skip`ped ones,
 * on the router, served by the grpc-js implementation of the same name.
 */
export function bridgeServices(
  router: ConnectRouter,
  descs: DescService[],
  impls: ServiceImpl[],
  opts: { skip: Set<string>; onCall?: CallObserver },
): void {
  for (const desc of descs) {
    const impl = impls.find((s) => s.name === desc.typeName)?.impl;
    if (!impl) throw new Error(`no implementation of ${desc.typeName}`);
    const defs = serviceClient(desc.typeName).service;
    for (const method of desc.methods) {
      const path = `${desc.typeName}/${method.name}`;
      if (opts.skip.has(path)) continue;
      const handler = impl[method.name] as Handler | undefined;
      if (!handler) throw new Error(`no handler for ${path}`);
      const codec = codecOf(method, defs[method.name]);
      const observe = <T>(p: Promise<T>) => {
        if (!opts.onCall) return p;
        const t0 = performance.now();
        const seconds = () => (performance.now() - t0) / 1000;
        return p.then((v) => {
          opts.onCall!(path, "OK", seconds());
          return v;
        }, (e: ConnectError) => {
          opts.onCall!(path, grpc.status[e.code] ?? String(e.code), seconds());
          throw e;
        });
      };
      if (method.methodKind === "unary") {
        const unary = (req: unknown, ctx: HandlerContext) =>
          observe(
            new Promise((resolve, reject) => {
              const call = new BridgeCall(codec.decode(req), ctx.signal);
              handler(call, (e, v) => e ? reject(connectError(e)) : resolve(codec.encode(v)));
            }),
          );
        router.rpc(method as never, unary as never);
      } else if (method.methodKind === "server_streaming") {
        router.rpc(method as never, async function* (req: unknown, ctx: HandlerContext) {
          const call = new StreamCall(codec.decode(req), ctx.signal);
          const t0 = performance.now();
          let code = "OK";
          try {
            handler(call);
            for await (const msg of call.messages()) yield codec.encode(msg);
          } catch (e) {
            code = grpc.status[ConnectError.from(e).code] ?? "UNKNOWN";
            throw e;
          } finally {
            opts.onCall?.(
              path,
              call.cancelled ? "CANCELLED" : code,
              (performance.now() - t0) / 1000,
            );
          }
        } as never);
      }
    }
  }
}

/** protobuf-es message <-> the object grpc-js hands to handlers, through the wire bytes. */
function codecOf(method: DescMethod, def: grpc.MethodDefinition<unknown, unknown>) {
  return {
    decode: (req: unknown) =>
      def.requestDeserialize(Buffer.from(toBinary(method.input, req as never))),
    encode: (res: unknown) => fromBinary(method.output, def.responseSerialize(res)),
  };
}
