// infrasim.v1.DaemonService and grpc.health.v1.Health.
import { hostname } from "node:os";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type * as H from "../../api/gen/grpc.health.v1.ts";
import { failedPrecondition, notFound, quote } from "../../api/errors.ts";
import { VERSION } from "../../version.ts";
import type { DaemonConfig } from "../config.ts";

const startTime = Date.now();

export function daemonService(deps: {
  config: DaemonConfig;
  qemu: T.QemuBinary[];
  accelerators: Record<string, string>;
  vmCounts: () => Record<string, number>;
  /** The HTTP listener's base URL ("" while it is off or not yet up). */
  httpUrl: () => string;
  /** A fresh one-time dashboard login code. */
  loginCode: () => string;
  loginTtlSeconds: number;
}): T.DaemonServiceHandlers {
  const url = (path: string) => (deps.httpUrl() ? `${deps.httpUrl()}${path}` : "");
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
      metrics_url: url("/metrics"),
      dashboard_url: url("/"),
    }),
    CreateDashboardLogin: (): T.DashboardLogin => {
      if (!deps.httpUrl()) {
        throw failedPrecondition(
          "the dashboard is off: infrasimd's HTTP listener is not running (set [http] listen " +
            'in config.toml, e.g. "127.0.0.1:50080", and restart infrasimd)',
        );
      }
      return {
        url: url(`/login?code=${deps.loginCode()}`),
        expires_in_seconds: deps.loginTtlSeconds,
      };
    },
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
