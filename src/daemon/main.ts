// infrasimd: loads config, opens state, re-adopts running VMs, serves the API.
import { Command, CommanderError } from "@commander-js/extra-typings";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ensureToken } from "../api/auth.ts";
import type { Arch } from "../api/validate/common.ts";
import { probeHost } from "../qemu/host.ts";
import { openDatabase } from "../store/db.ts";
import { ProcessStore } from "../store/processes.ts";
import { RefStore } from "../store/refs.ts";
import { VmStore } from "../store/vm_store.ts";
import { VERSION } from "../version.ts";
import { Claims } from "./claims.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { VmController } from "./controllers/vm.ts";
import { KeyedMutex } from "./locks.ts";
import { log, setLogLevel } from "./log.ts";
import { claimSocket, startServers } from "./server.ts";
import { daemonService, healthService } from "./services/daemon.ts";
import { vmService } from "./services/vm.ts";
import { imageService } from "./services/image.ts";
import { ImageController } from "./controllers/image.ts";
import { ImageStore } from "../store/image_store.ts";
import { VolumeStore } from "../store/volume_store.ts";
import type { ObjectStore } from "../store/objects.ts";
import { VolumeController } from "./controllers/volume.ts";
import { volumeService } from "./services/volume.ts";
import { networkService } from "./services/network.ts";
import { NetworkController } from "./controllers/network.ts";
import { NetworkStore } from "../store/network_store.ts";
import { Supervisor } from "./supervisor/supervisor.ts";
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

  let token: string;
  let unlock: () => void;
  try {
    // Lock the data dir first, so a second daemon never touches the first one's VMs.
    unlock = lockDataDir(cfg.data_dir);
    await claimSocket(cfg.data_dir);
    token = ensureToken(cfg.data_dir);
  } catch (e) {
    process.stderr.write(`infrasimd: ${(e as Error).message}\n`);
    return 1;
  }
  const db = openDatabase(join(cfg.data_dir, "state.db"));
  const locks = new KeyedMutex();
  const vmStore = new VmStore(db);
  const claims = new Claims(locks, cfg.ports, (proto, port) => vmStore.portOwner(proto, port));
  const supervisor = new Supervisor(new ProcessStore(db));
  const refs = new RefStore(db);
  const imageStore = new ImageStore(db);
  const volumeStore = new VolumeStore(db);
  const networkStore = new NetworkStore(db);
  const stores: Record<string, ObjectStore<unknown, unknown>> = {
    VM: vmStore,
    IMAGE: imageStore,
    VOLUME: volumeStore,
    NETWORK: networkStore,
  };
  const nameOf = (kind: string, id: string) => stores[kind]?.get(id)?.meta.name ?? id;
  const images = new ImageController(
    imageStore,
    refs,
    locks,
    claims,
    cfg.data_dir,
    host.qemuImg,
    nameOf,
  );
  const volumes = new VolumeController(
    volumeStore,
    imageStore,
    refs,
    locks,
    claims,
    cfg.data_dir,
    host.qemuImg,
    nameOf,
  );
  const networks = new NetworkController(
    networkStore,
    refs,
    locks,
    claims,
    supervisor,
    cfg.data_dir,
    nameOf,
  );
  const vms = new VmController(
    vmStore,
    refs,
    supervisor,
    locks,
    claims,
    cfg,
    host,
    volumes,
    networks,
  );
  await images.init();
  await volumes.init();
  // Switches first: the VMs' links plug into them.
  await networks.init();

  // Adoption takes every VM's lock before the first call is served.
  const adopted = vms.adoptAll();
  const known = new Set([
    "",
    "infrasim.v1.VmService",
    "infrasim.v1.ImageService",
    "infrasim.v1.VolumeService",
    "infrasim.v1.NetworkService",
    "infrasim.v1.DaemonService",
  ]);
  let server;
  try {
    server = await startServers([
      { name: "infrasim.v1.VmService", impl: vmService(vms) },
      { name: "infrasim.v1.ImageService", impl: imageService(images) },
      { name: "infrasim.v1.VolumeService", impl: volumeService(volumes) },
      { name: "infrasim.v1.NetworkService", impl: networkService(networks) },
      {
        name: "infrasim.v1.DaemonService",
        impl: daemonService({
          config: cfg,
          qemu: Object.entries(host.binaries).map(([arch, b]) => ({
            arch,
            path: b.path,
            version: b.version,
          })),
          accelerators: host.accelerators,
          vmCounts: () => vms.counts(),
        }),
      },
      { name: "grpc.health.v1.Health", impl: healthService(known), open: true },
    ], { dataDir: cfg.data_dir, listen: cfg.listen, token });
  } catch (e) {
    process.stderr.write(`infrasimd: ${(e as Error).message}\n`);
    await adopted; // never exit half-way through an adoption
    unlock();
    return 1;
  }
  await adopted;
  log.info("infrasimd ready", { version: VERSION, pid: process.pid, data_dir: cfg.data_dir });

  return await new Promise<number>((resolve) => {
    const stop = async (sig: string) => {
      log.info("shutting down; VMs keep running", { signal: sig });
      await server.shutdown();
      // Let operations under way finish (bounded), so none of them sees the store closed.
      await withTimeout(locks.settled(), 10_000, "operations under way").catch((e) =>
        log.warn("shutting down with operations under way", { error: String(e) })
      );
      vms.detachAll();
      networks.detachAll();
      db.close();
      unlock();
      resolve(0);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
