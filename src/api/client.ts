// The one typed client for infrasimd, shared by the CLI, the provider, tests and benches.
import * as grpc from "@grpc/grpc-js";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { serviceClient } from "./proto.ts";
import type * as T from "./gen/infrasim.v1.ts";
import type * as H from "./gen/grpc.health.v1.ts";
import { ApiError, quote, Status } from "./errors.ts";
import { AUTH_HEADER, readToken } from "./auth.ts";
import { decodeViolations, DETAILS_KEY, SHUTDOWN_KEY } from "./status_details.ts";
import { InfrasimV1Methods } from "./gen/infrasim.v1.client.ts";
import type { CallOptions, DeepPartial, Transport } from "./rpc_types.ts";

/** Default data dir of the daemon, also where its unix socket lives. */
export function defaultDataDir(): string {
  return process.env.INFRASIM_DATA_DIR || join(homedir(), ".infrasim");
}

export const SOCKET_NAME = "infrasimd.sock";

/**
 * Turns a user-facing address into a grpc-js target. Accepted forms:
 * "unix:///abs/path", "unix:/abs/path", "/abs/path", "http://host:port", "host:port".
 */
export function toGrpcTarget(address: string): string {
  const a = address.trim();
  if (a.startsWith("unix://")) return `unix:${a.slice("unix://".length)}`;
  if (a.startsWith("unix:")) return a;
  if (a.startsWith("/")) return `unix:${a}`;
  const hostPort = a.startsWith("http://") ? a.slice("http://".length).replace(/\/+$/, "") : a;
  if (a.startsWith("https://")) {
    throw new ApiError(Status.INVALID_ARGUMENT, "daemon_address: TLS (https://) is not supported");
  }
  const m = hostPort.match(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d+)$/);
  if (m && Number(m[2]) <= 65535) return hostPort;
  throw new ApiError(
    Status.INVALID_ARGUMENT,
    `daemon_address: ${quote(address)} is not unix:///path, /path or host:port`,
  );
}

/** True for a target on this machine: a unix socket, 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackTarget(target: string): boolean {
  if (target.startsWith("unix:")) return true;
  const host = target.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The grpc-js target of an address the daemon can be at: parsed, and on this machine.
 * infrasimd listens on loopback only, and its token must never travel to another host.
 */
export function daemonTarget(address: string): string {
  const target = toGrpcTarget(address);
  if (!isLoopbackTarget(target)) {
    throw new ApiError(
      Status.INVALID_ARGUMENT,
      `daemon_address: ${quote(address)}: infrasimd runs on this machine and listens on ` +
        "loopback only; remote daemons are not supported yet (use unix:///path or 127.0.0.1:PORT)",
    );
  }
  return target;
}

/** The address used when none is given: $INFRASIM_DAEMON_ADDRESS, else the local socket. */
export function defaultAddress(): string {
  return process.env.INFRASIM_DAEMON_ADDRESS || `unix://${join(defaultDataDir(), SOCKET_NAME)}`;
}

export type { CallOptions, DeepPartial } from "./rpc_types.ts";

export interface ClientOptions {
  /** The daemon's TCP token; default: $INFRASIM_TOKEN, else the data dir's token file. */
  token?: string;
}

/**
 * The client of infrasimd: every RPC of infrasim.v1 comes from the generated class (one
 * typed method per RPC); here are the connection (one channel for every service, the TCP
 * token, errors with their field violations) and the helpers that give streams a shape
 * (progress of an import, the serial log, the console, a watch).
 */
export class InfrasimClient extends InfrasimV1Methods {
  readonly address: string;
  readonly #tcp: boolean;
  readonly #target: string;
  readonly #creds = grpc.credentials.createInsecure();
  /** One grpc client per service, made on first use, all on the first one's channel. */
  readonly #clients = new Map<string, grpc.Client>();
  #metadata?: grpc.Metadata;
  readonly #token?: string;

  protected readonly transport: Transport = {
    unary: <R>(service: string, method: string, req: unknown, o?: CallOptions) =>
      this.#unary<R>(service, method, req, o),
    serverStream: <R>(service: string, method: string, req: unknown) =>
      this.#method(service, method)(req, this.#md()) as grpc.ClientReadableStream<R>,
    duplex: <Q, R>(service: string, method: string) =>
      this.#method(service, method)(this.#md()) as grpc.ClientDuplexStream<Q, R>,
  };

  constructor(address: string = defaultAddress(), opts: ClientOptions = {}) {
    super();
    this.address = address;
    const target = daemonTarget(address);
    this.#tcp = !target.startsWith("unix:");
    this.#target = target;
    this.#token = opts.token;
  }

  #client(service: string): grpc.Client {
    let c = this.#clients.get(service);
    if (!c) {
      const first = this.#clients.values().next().value;
      const Ctor = serviceClient(service);
      c = first
        ? new Ctor(this.#target, this.#creds, { channelOverride: first.getChannel() })
        : new Ctor(this.#target, this.#creds);
      this.#clients.set(service, c);
    }
    return c;
  }

  #method(service: string, method: string): (...args: unknown[]) => unknown {
    const c = this.#client(service) as unknown as Record<string, (...a: unknown[]) => unknown>;
    return c[method].bind(c);
  }

  close(): void {
    // The channel is shared: closing the client that made it closes it.
    this.#clients.values().next().value?.close();
  }

  /** Per-call metadata: the bearer token on TCP (the unix socket needs none). */
  #md(): grpc.Metadata {
    if (this.#metadata) return this.#metadata;
    const md = new grpc.Metadata();
    if (this.#tcp) {
      const token = this.#token || process.env.INFRASIM_TOKEN || readToken(defaultDataDir());
      if (token) md.set(AUTH_HEADER, `Bearer ${token}`);
    }
    return (this.#metadata = md);
  }

  /** Feeds a stream's data chunks to onData; resolves at its end or on cancel. */
  #drain(
    call:
      | grpc.ClientReadableStream<{ data: Uint8Array }>
      | grpc.ClientDuplexStream<unknown, { data: Uint8Array }>,
    onData: (chunk: Uint8Array) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      call.on("data", (c: { data: Uint8Array }) => onData(c.data));
      call.on("end", () => resolve());
      call.on("error", (e: grpc.ServiceError) => {
        if (e.code === Status.CANCELLED) resolve();
        else reject(this.#wrap(e));
      });
    });
  }

  #unary<R>(service: string, method: string, req: unknown, opts: CallOptions = {}): Promise<R> {
    const deadline = new Date(Date.now() + (opts.timeoutSeconds ?? 300) * 1000);
    return new Promise((resolve, reject) => {
      this.#method(service, method)(req, this.#md(), { deadline }, (
        err: grpc.ServiceError | null,
        res: R,
      ) => {
        if (err) reject(this.#wrap(err));
        else resolve(res);
      });
    });
  }

  #wrap(err: grpc.ServiceError): ApiError {
    if (err.code === Status.UNAVAILABLE && !err.metadata?.get(SHUTDOWN_KEY).length) {
      // The data dir that holds the socket the client looked for, said as the flag to use.
      const socketDir = this.#target.startsWith("unix:") && this.#target.endsWith(`/${SOCKET_NAME}`)
        ? dirname(this.#target.slice("unix:".length))
        : undefined;
      const dd = socketDir && socketDir !== join(homedir(), ".infrasim") ? socketDir : undefined;
      const start = this.#tcp
        ? "start infrasimd there, or point --daemon-address at a running one"
        : `start it with: infrasimd${dd ? ` --data-dir ${dd}` : ""}`;
      return new ApiError(err.code, `cannot reach infrasimd at ${this.address}; ${start}`);
    }
    const details = err.metadata?.get(DETAILS_KEY)[0];
    const violations = details instanceof Uint8Array ? decodeViolations(details) : [];
    return new ApiError(err.code, err.details || err.message, violations);
  }

  async health(service = "", o?: CallOptions): Promise<string> {
    const res = await this.#unary<H.HealthCheckResponse>(
      "grpc.health.v1.Health",
      "Check",
      { service },
      o,
    );
    return res.status;
  }

  /**
   * Streams the serial log. Resolves when the stream ends (at once unless follow).
   * cancel() stops following.
   */
  serialLog(
    ref: string,
    follow: boolean,
    onData: (chunk: Uint8Array) => void,
  ): { done: Promise<void>; cancel: () => void } {
    const call = this.getSerialLogStream({ ref, follow });
    return { done: this.#drain(call, onData), cancel: () => call.cancel() };
  }

  /**
   * Streams a network's packet capture (pcapng bytes) into write, which returns false when
   * its sink is full: the stream then waits for drain(). Resolves when the capture ends.
   */
  captureNetwork(
    req: DeepPartial<T.CaptureNetworkRequest>,
    write: (chunk: Uint8Array, drain: () => void) => boolean,
  ): { done: Promise<void>; cancel: () => void } {
    const call = this.captureNetworkStream(req);
    const done = this.#drain(call, (chunk) => {
      if (!write(chunk, () => call.resume())) call.pause();
    });
    return { done, cancel: () => call.cancel() };
  }

  /**
   * Imports an image, reporting progress; resolves with the image. cancel() abandons the
   * import (the daemon then keeps nothing of it).
   */
  importImage(
    req: DeepPartial<T.ImportImageRequest>,
    onProgress: (done: number, total: number) => void = () => {},
  ): { done: Promise<T.Image>; cancel: () => void } {
    const call = this.importImageStream(req);
    const done = new Promise<T.Image>((resolve, reject) => {
      let image: T.Image | undefined;
      call.on("data", (p: T.ImportImageProgress) => {
        onProgress(p.bytes_done, p.bytes_total);
        if (p.image) image = p.image;
      });
      call.on(
        "end",
        () =>
          image ? resolve(image) : reject(new ApiError(Status.INTERNAL, "the import ended early")),
      );
      call.on("error", (e: grpc.ServiceError) => reject(this.#wrap(e)));
    });
    return { done, cancel: () => call.cancel() };
  }

  /**
   * Watches changes: the current objects (ADDED, then SYNCED) or, with resource_version,
   * every change after it; then each change as it happens. done resolves when the stream
   * ends (cancel() ends it) and rejects with the daemon's status (OUT_OF_RANGE: list
   * again; RESOURCE_EXHAUSTED: too slow, resume from the last version seen).
   */
  watch(
    req: DeepPartial<T.WatchRequest>,
    onEvent: (e: T.WatchEvent) => void,
  ): { done: Promise<void>; cancel: () => void } {
    const call = this.watchStream(req);
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (e: T.WatchEvent) => onEvent(e));
      call.on("end", () => resolve());
      call.on("error", (e: grpc.ServiceError) => {
        if (e.code === Status.CANCELLED) resolve();
        else reject(this.#wrap(e));
      });
    });
    return { done, cancel: () => call.cancel() };
  }

  /** Attaches to the serial console. write() types into it; close() detaches. */
  console(ref: string, onData: (chunk: Uint8Array) => void): ConsoleSession {
    const call = this.consoleStream();
    const done = this.#drain(call, onData);
    call.write({ ref });
    return {
      done,
      write: (data) => {
        call.write({ data: typeof data === "string" ? new TextEncoder().encode(data) : data });
      },
      close: () => call.cancel(),
    };
  }
}

export interface ConsoleSession {
  done: Promise<void>;
  write(data: Uint8Array | string): void;
  close(): void;
}
