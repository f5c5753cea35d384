// infrasim.v1.VmService: translation between gRPC and the VM controller, plus the two
// streams (interactive console and serial log).
import type * as grpc from "@grpc/grpc-js";
import { open, stat } from "node:fs/promises";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { failedPrecondition, quote } from "../../api/errors.ts";
import { intIn, LIMITS } from "../../api/validate/common.ts";
import { runPaths } from "../../qemu/launch.ts";
import { processUsage } from "../../process/usage.ts";
import type { VmController } from "../controllers/vm/controller.ts";
import { toStatus } from "./rpc.ts";

const timeoutOf = (r: { timeout_seconds: number }) =>
  intIn(r.timeout_seconds, LIMITS.timeoutSeconds, "timeout_seconds");

export function vmService(vms: VmController): T.VmServiceHandlers {
  return {
    CreateVm: (r) => vms.create(r),
    GetVm: (r) => vms.get(r.ref),
    ListVms: (r) => ({ vms: vms.list(r.label_selector) }),
    UpdateVm: (r) => vms.update(r),
    DeleteVm: async (r) => ({ id: await vms.delete(r.ref, r.force, r.with_snapshots) }),
    StartVm: (r) => vms.start(r.ref, r.from_snapshot),
    StopVm: (r) => vms.stop(r.ref, r.force, timeoutOf(r)),
    RestartVm: (r) => vms.restart(r.ref, r.force, timeoutOf(r)),
    WaitVm: (r, signal) => vms.wait(r, signal),
    Console: (call) => consoleHandler(vms, call),
    GetSerialLog: (call) => serialLogHandler(vms, call),
    GetVmUsage: async (r) => {
      const vm = vms.find(r.ref);
      const rt = vms.runner.runtime(vm.meta.id);
      if (!rt) throw failedPrecondition(`vm ${quote(vm.meta.name)} is not running`);
      const u = await processUsage(rt.pid).catch((e) => {
        if (vms.runner.runtime(vm.meta.id)) throw e; // a slow or odd read, not an exit
        throw failedPrecondition(`vm ${quote(vm.meta.name)} is not running`); // it just exited
      });
      return {
        cpu_seconds: u.cpuSeconds,
        resident_memory_bytes: u.rssBytes,
        sampled_at: new Date().toISOString(),
      };
    },
  };
}

function consoleHandler(
  vms: VmController,
  call: grpc.ServerDuplexStream<T.ConsoleInput, T.ConsoleOutput>,
): void {
  let unsubscribe: (() => void) | undefined;
  let write: ((d: Uint8Array) => void) | undefined;
  call.on("data", (msg: T.ConsoleInput) => {
    if (write) {
      if (msg.data?.length) write(msg.data);
      return;
    }
    try {
      const vm = vms.find(msg.ref);
      const rt = vms.runner.runtime(vm.meta.id);
      if (!rt) {
        throw failedPrecondition(
          `vm ${
            quote(vm.meta.name)
          } is not running; start it with: infrasim vm start ${vm.meta.name}`,
        );
      }
      unsubscribe = rt.serial.subscribe((chunk) => call.write({ data: chunk }));
      write = (d) => rt.serial.write(d);
      // An empty first message says "attached": the client announces it only then.
      call.write({ data: new Uint8Array() });
      rt.exited.then(() => call.end());
      if (msg.data?.length) write(msg.data);
    } catch (e) {
      call.emit("error", toStatus(e, "Console"));
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

/** Streams the serial log (written by QEMU into the run dir), following it if asked. */
function serialLogHandler(
  vms: VmController,
  call: grpc.ServerWritableStream<T.GetSerialLogRequest, T.SerialLogChunk>,
): void {
  let id: string;
  try {
    id = vms.find(call.request.ref).meta.id;
  } catch (e) {
    call.emit("error", toStatus(e, "GetSerialLog"));
    return;
  }
  const path = runPaths(vms.vmDir(id)).serialLog;
  let offset = 0;
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  const buf = new Uint8Array(64 * 1024);
  const pump = async () => {
    if (cancelled) return;
    if (!vms.store.get(id)) return void call.end();
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    if (size < offset) offset = 0; // truncated by a restart of the VM
    if (size > offset) {
      const fh = await open(path, "r");
      try {
        let n: number;
        while (!cancelled && (n = (await fh.read(buf, 0, buf.length, offset)).bytesRead) > 0) {
          // Back-pressure: wait for the client to drain before reading more.
          if (!call.write({ data: buf.slice(0, n) })) {
            await new Promise((r) => {
              call.once("drain", r);
              call.once("cancelled", r);
            });
          }
          offset += n;
        }
      } finally {
        await fh.close();
      }
    }
    if (!call.request.follow) return void call.end();
    setTimeout(() => pump().catch((e) => call.emit("error", toStatus(e, "GetSerialLog"))), 100);
  };
  pump().catch((e) => call.emit("error", toStatus(e, "GetSerialLog")));
}
