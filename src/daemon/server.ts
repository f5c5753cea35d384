// The gRPC server: infrasim.v1 services and grpc.health.v1 over a 0600 unix socket
// in the data dir and, optionally, TCP on loopback.
import * as grpc from "@grpc/grpc-js";
import { chmodSync, closeSync, existsSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import type * as T from "../api/gen/types.ts";
import { ApiError, invalid, notFound, Status } from "../api/errors.ts";
import { serviceClient } from "../api/proto.ts";
import { unaryHandler } from "../api/unary.ts";
import { SOCKET_NAME } from "../api/client.ts";
import type { VmManager } from "./vm_manager.ts";
import { log } from "./log.ts";
import { VERSION } from "../version.ts";

type Unary<Req, Res> = (req: Req) => Promise<Res> | Res;

/** ApiErrors become their gRPC status, anything else INTERNAL. */
function unary<Req, Res>(name: string, fn: Unary<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return unaryHandler(fn, {
    done: (ms) => log.debug("rpc", { method: name, ms }),
    fail: (e) => toStatus(e, name),
  });
}

function toStatus(e: unknown, method: string): Partial<grpc.StatusObject> {
  if (e instanceof ApiError) return { code: e.code, details: e.message };
  log.error("internal error", { method, error: (e as Error)?.stack ?? String(e) });
  return { code: Status.INTERNAL, details: `internal error: ${(e as Error)?.message ?? e}` };
}

export interface ServerHandle {
  server: grpc.Server;
  socketPath: string;
  tcpPort?: number;
  shutdown(): Promise<void>;
}

const startTime = Date.now();

export async function startServer(
  manager: VmManager,
  host: { qemu: T.QemuBinary[]; accelerators: Record<string, string> },
): Promise<ServerHandle> {
  const cfg = manager.config;
  const server = new grpc.Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024 });

  server.addService(serviceClient("infrasim.v1.VmService").service, {
    CreateVm: unary("CreateVm", (r: T.CreateVmRequest) => manager.create(r)),
    GetVm: unary("GetVm", (r: T.GetVmRequest) => manager.get(r.ref)),
    ListVms: unary("ListVms", (r: T.ListVmsRequest) => ({ vms: manager.list(r.label_selector) })),
    UpdateVm: unary("UpdateVm", (r: T.UpdateVmRequest) => manager.update(r)),
    DeleteVm: unary(
      "DeleteVm",
      async (r: T.DeleteVmRequest) => ({ id: await manager.delete(r.ref) }),
    ),
    StartVm: unary("StartVm", (r: T.StartVmRequest) => manager.start(r.ref)),
    StopVm: unary("StopVm", (r: T.StopVmRequest) => {
      if (r.timeout_seconds < 0) throw invalid("timeout_seconds", "must not be negative");
      return manager.stop(r.ref, r.force, r.timeout_seconds);
    }),
    RestartVm: unary("RestartVm", (r: T.RestartVmRequest) => {
      if (r.timeout_seconds < 0) throw invalid("timeout_seconds", "must not be negative");
      return manager.restart(r.ref, r.force, r.timeout_seconds);
    }),
    Console: (call: grpc.ServerDuplexStream<T.ConsoleInput, T.ConsoleOutput>) =>
      consoleHandler(manager, call),
    GetSerialLog: (call: grpc.ServerWritableStream<T.GetSerialLogRequest, T.SerialLogChunk>) =>
      serialLogHandler(manager, call),
  });

  server.addService(serviceClient("infrasim.v1.DaemonService").service, {
    GetDaemonStatus: unary("GetDaemonStatus", (): T.DaemonStatus => ({
      version: VERSION,
      uptime_seconds: Math.floor((Date.now() - startTime) / 1000),
      qemu: host.qemu,
      accelerators: host.accelerators,
      vm_counts: manager.counts(),
      data_dir: cfg.data_dir,
      host: `${process.platform}/${
        process.arch === "x64" ? "x86_64" : process.arch
      } (${hostname()})`,
      pid: process.pid,
    })),
  });

  const known = new Set(["", "infrasim.v1.VmService", "infrasim.v1.DaemonService"]);
  server.addService(serviceClient("grpc.health.v1.Health").service, {
    Check: unary("Check", (r: T.HealthCheckRequest) => {
      if (!known.has(r.service)) throw notFound(`unknown service ${r.service}`);
      return { status: "SERVING" };
    }),
    Watch: (call: grpc.ServerWritableStream<T.HealthCheckRequest, T.HealthCheckResponse>) => {
      call.write({ status: known.has(call.request.service) ? "SERVING" : "SERVICE_UNKNOWN" });
    },
  });

  const socketPath = join(cfg.data_dir, SOCKET_NAME);
  await claimSocket(socketPath);
  await bind(server, `unix:${socketPath}`);
  chmodSync(socketPath, 0o600);
  let tcpPort: number | undefined;
  if (cfg.listen) tcpPort = await bind(server, cfg.listen);
  log.info("listening", {
    socket: socketPath,
    tcp: cfg.listen ? `${cfg.listen.replace(/:\d+$/, "")}:${tcpPort}` : "off",
  });

  return {
    server,
    socketPath,
    tcpPort,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          rmSync(socketPath, { force: true });
          resolve();
        });
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
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
async function claimSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
  if (alive) throw new Error(`another infrasimd is already serving ${path}`);
  rmSync(path, { force: true });
}

function consoleHandler(
  manager: VmManager,
  call: grpc.ServerDuplexStream<T.ConsoleInput, T.ConsoleOutput>,
): void {
  let unsubscribe: (() => void) | undefined;
  let write: ((d: Uint8Array) => void) | undefined;
  const fail = (e: unknown) => {
    call.emit("error", toStatus(e, "Console"));
  };
  call.on("data", (msg: T.ConsoleInput) => {
    if (write) {
      if (msg.data?.length) write(msg.data);
      return;
    }
    try {
      const { vm } = manager.find(msg.ref);
      const rt = manager.runtime(vm.meta.id);
      if (!rt?.running) {
        throw new ApiError(Status.FAILED_PRECONDITION, `vm ${vm.meta.name} is not running`);
      }
      unsubscribe = rt.serial.subscribe((chunk) => call.write({ data: chunk }));
      write = (d) => rt.serial.write(d);
      rt.exited.then(() => call.end());
      if (msg.data?.length) write(msg.data);
    } catch (e) {
      fail(e);
    }
  });
  const done = () => unsubscribe?.();
  call.on("end", () => {
    done();
    call.end();
  });
  call.on("cancelled", done);
  call.on("error", done);
}

function serialLogHandler(
  manager: VmManager,
  call: grpc.ServerWritableStream<T.GetSerialLogRequest, T.SerialLogChunk>,
): void {
  let id: string;
  try {
    id = manager.find(call.request.ref).vm.meta.id;
  } catch (e) {
    call.emit("error", toStatus(e, "GetSerialLog"));
    return;
  }
  const path = manager.runPaths(id).serialLog;
  let offset = 0;
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  const buf = new Uint8Array(64 * 1024);
  const pump = () => {
    if (cancelled) return;
    if (!manager.store.get(id)) return void call.end();
    let size = 0;
    try {
      size = statSync(path).size;
    } catch { /* no log yet */ }
    if (size < offset) offset = 0; // truncated by a restart of the VM
    if (size > offset) {
      const fd = openSync(path, "r");
      try {
        let n: number;
        while (!cancelled && (n = readSync(fd, buf, 0, buf.length, offset)) > 0) {
          call.write({ data: buf.slice(0, n) });
          offset += n;
        }
      } finally {
        closeSync(fd);
      }
    }
    if (!call.request.follow) return void call.end();
    setTimeout(pump, 100);
  };
  pump();
}
