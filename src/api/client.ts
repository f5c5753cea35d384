// The one typed client for infrasimd, shared by the CLI, the provider, tests and benches.
import * as grpc from "@grpc/grpc-js";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { serviceClient } from "./proto.ts";
import type * as T from "./gen/infrasim.v1.ts";
import type * as H from "./gen/grpc.health.v1.ts";
import { ApiError, quote, Status } from "./errors.ts";
import { AUTH_HEADER, readToken } from "./auth.ts";
import { decodeViolations, DETAILS_KEY } from "./status_details.ts";

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

type Req<M, K extends keyof M> = M[K] extends { req: infer R } ? R : never;
type Res<M, K extends keyof M> = M[K] extends { res: infer R } ? R : never;
/** Requests may leave out any field; the wire fills in defaults. */
export type DeepPartial<X> = X extends Uint8Array ? X
  : X extends (infer E)[] ? DeepPartial<E>[]
  : X extends object ? { [P in keyof X]?: DeepPartial<X[P]> | null }
  : X;

export interface CallOptions {
  /** Seconds until the call is abandoned with DEADLINE_EXCEEDED. */
  timeoutSeconds?: number;
}

export interface ClientOptions {
  /** The daemon's TCP token; default: $INFRASIM_TOKEN, else the data dir's token file. */
  token?: string;
}

export class InfrasimClient {
  readonly address: string;
  readonly #vm: grpc.Client;
  readonly #daemon: grpc.Client;
  readonly #health: grpc.Client;
  readonly #image: grpc.Client;
  readonly #volume: grpc.Client;
  readonly #network: grpc.Client;
  readonly #watch: grpc.Client;
  readonly #tcp: boolean;
  readonly #target: string;
  #metadata?: grpc.Metadata;
  readonly #token?: string;

  constructor(address: string = defaultAddress(), opts: ClientOptions = {}) {
    this.address = address;
    const target = daemonTarget(address);
    this.#tcp = !target.startsWith("unix:");
    this.#target = target;
    this.#token = opts.token;
    const creds = grpc.credentials.createInsecure();
    const VmService = serviceClient("infrasim.v1.VmService");
    this.#vm = new VmService(target, creds);
    // Share the channel between services.
    const shared = { channelOverride: this.#vm.getChannel() };
    this.#daemon = new (serviceClient("infrasim.v1.DaemonService"))(target, creds, shared);
    this.#health = new (serviceClient("grpc.health.v1.Health"))(target, creds, shared);
    this.#image = new (serviceClient("infrasim.v1.ImageService"))(target, creds, shared);
    this.#volume = new (serviceClient("infrasim.v1.VolumeService"))(target, creds, shared);
    this.#network = new (serviceClient("infrasim.v1.NetworkService"))(target, creds, shared);
    this.#watch = new (serviceClient("infrasim.v1.WatchService"))(target, creds, shared);
  }

  close(): void {
    this.#vm.close();
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

  /** A streaming method of VmService, bound to its client. */
  #rpc(name: string): (...args: unknown[]) => unknown {
    const c = this.#vm as unknown as Record<string, (...args: unknown[]) => unknown>;
    return c[name].bind(c);
  }

  #unary<M, K extends keyof M & string>(
    client: grpc.Client,
    method: K,
    req: DeepPartial<Req<M, K>>,
    opts: CallOptions = {},
  ): Promise<Res<M, K>> {
    const deadline = new Date(Date.now() + (opts.timeoutSeconds ?? 300) * 1000);
    return new Promise((resolve, reject) => {
      // deno-lint-ignore no-explicit-any
      (client as any)[method](req, this.#md(), { deadline }, (
        err: grpc.ServiceError | null,
        // deno-lint-ignore no-explicit-any
        res: any,
      ) => {
        if (err) reject(this.#wrap(err));
        else resolve(res);
      });
    });
  }

  #wrap(err: grpc.ServiceError): ApiError {
    if (err.code === Status.UNAVAILABLE) {
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

  createVm(req: DeepPartial<T.CreateVmRequest>, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "CreateVm">(this.#vm, "CreateVm", req, o);
  }
  getVm(ref: string, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "GetVm">(this.#vm, "GetVm", { ref }, o);
  }
  async listVms(labelSelector = "", o?: CallOptions): Promise<T.Vm[]> {
    const res = await this.#unary<T.VmServiceMethods, "ListVms">(this.#vm, "ListVms", {
      label_selector: labelSelector,
    }, o);
    return res.vms;
  }
  updateVm(req: DeepPartial<T.UpdateVmRequest>, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "UpdateVm">(this.#vm, "UpdateVm", req, o);
  }
  /** force: delete a running VM too (it is stopped at once); without it, refused. */
  deleteVm(ref: string, o: CallOptions & { force?: boolean } = {}) {
    return this.#unary<T.VmServiceMethods, "DeleteVm">(this.#vm, "DeleteVm", {
      ref,
      force: !!o.force,
    }, o);
  }
  startVm(ref: string, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "StartVm">(this.#vm, "StartVm", { ref }, o);
  }
  stopVm(req: DeepPartial<T.StopVmRequest>, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "StopVm">(this.#vm, "StopVm", req, o);
  }
  restartVm(req: DeepPartial<T.RestartVmRequest>, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "RestartVm">(this.#vm, "RestartVm", req, o);
  }
  /** Give a timeout beyond req.timeout_seconds, so the daemon's own message arrives. */
  waitVm(req: DeepPartial<T.WaitVmRequest>, o?: CallOptions) {
    return this.#unary<T.VmServiceMethods, "WaitVm">(this.#vm, "WaitVm", req, o);
  }
  daemonStatus(o?: CallOptions) {
    return this.#unary<T.DaemonServiceMethods, "GetDaemonStatus">(
      this.#daemon,
      "GetDaemonStatus",
      {},
      o,
    );
  }
  async health(service = "", o?: CallOptions): Promise<string> {
    const res = await this.#unary<H.HealthMethods, "Check">(this.#health, "Check", { service }, o);
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
    const call = this.#rpc("GetSerialLog")(
      { ref, follow },
      this.#md(),
    ) as grpc.ClientReadableStream<
      T.SerialLogChunk
    >;
    return { done: this.#drain(call, onData), cancel: () => call.cancel() };
  }

  /**
   * Imports an image, reporting progress; resolves with the image. cancel() abandons the
   * import (the daemon then keeps nothing of it).
   */
  importImage(
    req: DeepPartial<T.ImportImageRequest>,
    onProgress: (done: number, total: number) => void = () => {},
  ): { done: Promise<T.Image>; cancel: () => void } {
    // deno-lint-ignore no-explicit-any
    const call = (this.#image as any).ImportImage(req, this.#md()) as grpc.ClientReadableStream<
      T.ImportImageProgress
    >;
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
  getImage(ref: string, o?: CallOptions) {
    return this.#unary<T.ImageServiceMethods, "GetImage">(this.#image, "GetImage", { ref }, o);
  }
  async listImages(labelSelector = "", o?: CallOptions): Promise<T.Image[]> {
    const res = await this.#unary<T.ImageServiceMethods, "ListImages">(
      this.#image,
      "ListImages",
      { label_selector: labelSelector },
      o,
    );
    return res.images;
  }
  updateImage(req: DeepPartial<T.UpdateImageRequest>, o?: CallOptions) {
    return this.#unary<T.ImageServiceMethods, "UpdateImage">(this.#image, "UpdateImage", req, o);
  }
  deleteImage(ref: string, o?: CallOptions) {
    return this.#unary<T.ImageServiceMethods, "DeleteImage">(this.#image, "DeleteImage", {
      ref,
    }, o);
  }

  createVolume(req: DeepPartial<T.CreateVolumeRequest>, o?: CallOptions) {
    return this.#unary<T.VolumeServiceMethods, "CreateVolume">(
      this.#volume,
      "CreateVolume",
      req,
      o,
    );
  }
  getVolume(ref: string, o?: CallOptions) {
    return this.#unary<T.VolumeServiceMethods, "GetVolume">(this.#volume, "GetVolume", { ref }, o);
  }
  async listVolumes(labelSelector = "", o?: CallOptions): Promise<T.Volume[]> {
    const res = await this.#unary<T.VolumeServiceMethods, "ListVolumes">(
      this.#volume,
      "ListVolumes",
      { label_selector: labelSelector },
      o,
    );
    return res.volumes;
  }
  updateVolume(req: DeepPartial<T.UpdateVolumeRequest>, o?: CallOptions) {
    return this.#unary<T.VolumeServiceMethods, "UpdateVolume">(
      this.#volume,
      "UpdateVolume",
      req,
      o,
    );
  }
  deleteVolume(ref: string, o?: CallOptions) {
    return this.#unary<T.VolumeServiceMethods, "DeleteVolume">(this.#volume, "DeleteVolume", {
      ref,
    }, o);
  }

  #net<M extends keyof T.NetworkServiceMethods & string>(
    m: M,
    req: DeepPartial<Req<T.NetworkServiceMethods, M>>,
    o?: CallOptions,
  ) {
    return this.#unary<T.NetworkServiceMethods, M>(this.#network, m, req, o);
  }
  createNetwork(req: DeepPartial<T.CreateNetworkRequest>, o?: CallOptions) {
    return this.#net("CreateNetwork", req, o);
  }
  getNetwork(ref: string, o?: CallOptions) {
    return this.#net("GetNetwork", { ref }, o);
  }
  async listNetworks(labelSelector = "", o?: CallOptions): Promise<T.Network[]> {
    return (await this.#net("ListNetworks", { label_selector: labelSelector }, o)).networks;
  }
  updateNetwork(req: DeepPartial<T.UpdateNetworkRequest>, o?: CallOptions) {
    return this.#net("UpdateNetwork", req, o);
  }
  deleteNetwork(ref: string, o?: CallOptions) {
    return this.#net("DeleteNetwork", { ref }, o);
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
    // deno-lint-ignore no-explicit-any
    const call = (this.#watch as any).Watch(req, this.#md()) as grpc.ClientReadableStream<
      T.WatchEvent
    >;
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
    const call = this.#rpc("Console")(this.#md()) as grpc.ClientDuplexStream<
      DeepPartial<T.ConsoleInput>,
      T.ConsoleOutput
    >;
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
