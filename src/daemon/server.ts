// The gRPC servers: the same services on a 0600 unix socket in the data dir (trusted
// by its mode) and, optionally, on TCP loopback, where every call but health checks
// needs the daemon's bearer token.
import * as grpc from "@grpc/grpc-js";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { AUTH_HEADER, tokenMatches } from "../api/auth.ts";
import { SOCKET_NAME } from "../api/client.ts";
import { Status } from "../api/errors.ts";
import { serviceClient } from "../api/proto.ts";
import { log } from "./log.ts";
import { reflectionService } from "./reflection.ts";

export interface ServiceImpl {
  name: string;
  impl: grpc.UntypedServiceImplementation;
}

export interface ServerHandle {
  socketPath: string;
  tcpPort?: number;
  shutdown(): Promise<void>;
}

/** Services served without a token on TCP: health checks only. */
const OPEN = ["/grpc.health.v1.Health/"];

const UNAUTHENTICATED = {
  code: Status.UNAUTHENTICATED,
  details: "this TCP listener needs infrasimd's token: it is in the data dir's `token` file " +
    "(read by the CLI and provider of the same user), or pass --token / INFRASIM_TOKEN",
};

/**
 * Every call on TCP but health checks must carry the bearer token, checked before its
 * handler (or the reflection service) sees anything.
 */
function requireToken(token: string): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, mdNext) => {
            if (OPEN.some((p) => method.path.startsWith(p))) return mdNext(md);
            if (tokenMatches(md.get(AUTH_HEADER)[0], token)) return mdNext(md);
            log.warn("unauthenticated call refused", { method: method.path });
            call.sendStatus({ ...UNAUTHENTICATED, metadata: new grpc.Metadata() });
          },
        }),
    });
}

/** Reports every call's method, status code and duration as it ends. */
export type CallObserver = (method: string, code: string, seconds: number) => void;

function observeCalls(onCall: CallObserver): grpc.ServerInterceptor {
  return (method, call) => {
    const t0 = performance.now();
    return new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        const code = grpc.status[status.code] ?? String(status.code);
        onCall(method.path.slice(1), code, (performance.now() - t0) / 1000);
        next(status);
      },
    });
  };
}

export async function startServers(
  services: ServiceImpl[],
  opts: { dataDir: string; listen: string; token: string; onCall?: CallObserver },
): Promise<ServerHandle> {
  const servers: grpc.Server[] = [];
  const reflection = await reflectionService(services.map((s) => s.name));
  const make = (auth: boolean) => {
    const server = new grpc.Server({
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
      interceptors: [
        ...(opts.onCall ? [observeCalls(opts.onCall)] : []),
        ...(auth ? [requireToken(opts.token)] : []),
      ],
    });
    for (const s of services) server.addService(serviceClient(s.name).service, s.impl);
    // Generic gRPC tools (grpcurl, grpcui, Postman) list and call the API through it.
    reflection.addToServer(server);
    servers.push(server);
    return server;
  };
  const socketPath = join(opts.dataDir, SOCKET_NAME);
  await bind(make(false), `unix:${socketPath}`);
  chmodSync(socketPath, 0o600);
  let tcpPort: number | undefined;
  if (opts.listen) tcpPort = await bind(make(true), opts.listen);
  log.info("listening", {
    socket: socketPath,
    tcp: opts.listen ? `${opts.listen.replace(/:\d+$/, "")}:${tcpPort} (token required)` : "off",
  });
  return {
    socketPath,
    tcpPort,
    shutdown: () =>
      Promise.all(servers.map((server) =>
        new Promise<void>((resolve) => {
          server.tryShutdown(() => resolve());
          setTimeout(() => server.forceShutdown(), 2000).unref();
        })
      )).then(() => rmSync(socketPath, { force: true })),
  };
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}

/** Refuses to start beside a live daemon on the same data dir; removes a stale socket. */
export async function claimSocket(dataDir: string): Promise<void> {
  const path = join(dataDir, SOCKET_NAME);
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    const t = setTimeout(() => {
      s.destroy();
      resolve(true); // a socket that neither accepts nor refuses: assume it is served
    }, 2000);
    s.once("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  if (alive) throw new Error(`another infrasimd is already serving ${path}`);
  rmSync(path, { force: true });
}
