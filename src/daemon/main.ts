// infrasimd: loads config, opens state, re-adopts running VMs, serves the API.
import { Command, CommanderError } from "@commander-js/extra-typings";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ensureToken, METRICS_TOKEN_FILE } from "../api/auth.ts";
import type { Arch } from "../api/validate/common.ts";
import { probeHost } from "../qemu/host.ts";
import { openDatabase } from "../store/db.ts";
import { VERSION } from "../version.ts";
import { compose } from "./compose.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { log, setLogLevel } from "./log.ts";
import { claimSocket, startServers } from "./server.ts";
import { startHttp } from "./http.ts";
import { dashboardRoutes } from "./dashboard/routes.ts";
import { healthService } from "./services/daemon.ts";
import { serve } from "./services/rpc.ts";
import { HealthShape } from "../api/gen/grpc.health.v1.ts";
import { lockDataDir } from "./instance.ts";
import { withTimeout } from "../timeout.ts";

export async function runDaemon(argv: string[]): Promise<number> {
  const program = new Command("infrasimd")
    .description("InfraSim daemon: runs QEMU virtual machines and serves the infrasim.v1 gRPC API")
    .version(VERSION, "-V, --version")
    .option("-c, --config <file>", "config file (default: <data-dir>/config.toml)")
    .option("--data-dir <dir>", "state, sockets and VM run dirs (default: ~/.infrasim)")
    .option(
      "--listen <host:port>",
      'TCP address on loopback, "" to disable (default: 127.0.0.1:50051)',
    )
    .option("--log-level <level>", "debug | info | warn | error")
    .option("--accelerator <name>", "auto | hvf | kvm | tcg")
    .option(
      "--http-listen <host:port>",
      'HTTP address on loopback for the dashboard and /metrics, "" to disable (default: 127.0.0.1:50080)',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  let cfg;
  try {
    cfg = loadConfig(program.opts());
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`infrasimd: config error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  setLogLevel(cfg.log_level);
  process.umask(0o077);
  mkdirSync(join(cfg.data_dir, "vms"), { recursive: true, mode: 0o700 });
  chmodSync(cfg.data_dir, 0o700);

  const host = probeHost({
    binaries: { x86_64: cfg.qemu.binary_x86_64, aarch64: cfg.qemu.binary_aarch64 },
    accelerator: cfg.qemu.accelerator,
  });
  for (const [arch, b] of Object.entries(host.binaries)) {
    log.info("qemu found", {
      arch,
      path: b.path,
      version: b.version,
      accelerator: host.accelerators[arch as Arch],
    });
  }
  if (Object.keys(host.binaries).length === 0) {
    log.warn("no qemu-system-* binary found; VMs cannot start");
  }

  let token: string, metricsToken = "";
  let unlock: () => void;
  try {
    // Lock the data dir first, so a second daemon never touches the first one's VMs.
    unlock = lockDataDir(cfg.data_dir);
    await claimSocket(cfg.data_dir);
    token = ensureToken(cfg.data_dir);
    if (cfg.http.listen) metricsToken = ensureToken(cfg.data_dir, METRICS_TOKEN_FILE);
  } catch (e) {
    process.stderr.write(`infrasimd: ${(e as Error).message}\n`);
    return 1;
  }
  const db = openDatabase(join(cfg.data_dir, "state.db"));
  const daemon = compose(db, cfg, host);
  const { adopted } = await daemon.start();
  const known = new Set(["", ...daemon.services.map((s) => s.name)]);
  const onCall = (m: string, code: string, s: number) => daemon.metrics.apiCall(m, code, s);
  let server;
  try {
    server = await startServers([
      ...daemon.services,
      { name: "grpc.health.v1.Health", impl: serve(HealthShape, healthService(known)) },
    ], {
      dataDir: cfg.data_dir,
      listen: cfg.listen,
      token,
      onCall,
    });
  } catch (e) {
    process.stderr.write(`infrasimd: ${(e as Error).message}\n`);
    await adopted; // never exit half-way through an adoption
    unlock();
    return 1;
  }
  // The dashboard and metrics are views: a port someone else holds leaves them off, not
  // the daemon down.
  const http = cfg.http.listen
    ? await startHttp(cfg.http.listen, {
      token: metricsToken,
      metrics: daemon.metrics,
      dashboard: dashboardRoutes({
        services: daemon.services,
        sessions: daemon.sessions,
        vms: daemon.vms,
        onCall,
      }),
    })
      .then((h) => {
        const address = `${cfg.http.listen.replace(/:\d+$/, "")}:${h.port}`;
        daemon.http.url = `http://${address}`;
        log.info("http listening", {
          address,
          dashboard: "/ (log in with: infrasim dashboard)",
          metrics: "/metrics (bearer token: the data dir's metrics-token)",
        });
        return h;
      })
      .catch((e) => {
        log.error("http listener off", { error: (e as Error).message });
        return undefined;
      })
    : undefined;
  await adopted;
  log.info("infrasimd ready", { version: VERSION, pid: process.pid, data_dir: cfg.data_dir });

  return await new Promise<number>((resolve) => {
    const stop = async (sig: string) => {
      log.info("shutting down; VMs keep running", { signal: sig });
      daemon.feed.close(); // open watches end now, not when the server gives up on them
      await Promise.all([server.shutdown(), http?.close()]);
      // Let operations under way finish (bounded), so none of them sees the store closed.
      await withTimeout(daemon.locks.settled(), 10_000, "operations under way").catch((e) =>
        log.warn("shutting down with operations under way", { error: String(e) })
      );
      daemon.detach();
      db.close();
      unlock();
      resolve(0);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
