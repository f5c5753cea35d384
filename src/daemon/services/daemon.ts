// infrasim.v1.DaemonService and grpc.health.v1.Health.
import { hostname } from "node:os";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type * as H from "../../api/gen/grpc.health.v1.ts";
import { notFound, quote } from "../../api/errors.ts";
import { VERSION } from "../../version.ts";
import type { DaemonConfig } from "../config.ts";

const startTime = Date.now();

export function daemonService(deps: {
  config: DaemonConfig;
  qemu: T.QemuBinary[];
  accelerators: Record<string, string>;
  vmCounts: () => Record<string, number>;
  /** Where /metrics is served ("" while the HTTP listener is off or not yet up). */
  metricsUrl: () => string;
}): T.DaemonServiceHandlers {
  return {
    GetDaemonStatus: (): T.DaemonStatus => ({
      version: VERSION,
      uptime_seconds: Math.floor((Date.now() - startTime) / 1000),
      qemu: deps.qemu,
      accelerators: deps.accelerators,
      vm_counts: deps.vmCounts(),
      data_dir: deps.config.data_dir,
      host: `${process.platform}/${
        process.arch === "x64" ? "x86_64" : process.arch
      } (${hostname()})`,
      pid: process.pid,
      metrics_url: deps.metricsUrl(),
    }),
  };
}

export function healthService(known: Set<string>): H.HealthHandlers {
  return {
    Check: (r) => {
      if (!known.has(r.service)) throw notFound(`unknown service ${quote(r.service)}`);
      return { status: "SERVING" };
    },
    Watch: (call) => {
      call.write({ status: known.has(call.request.service) ? "SERVING" : "SERVICE_UNKNOWN" });
    },
  };
}
