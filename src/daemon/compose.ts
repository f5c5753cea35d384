// The composition root: every collaborator of the daemon is built here, once, and handed
// to its users' constructors as the small interfaces of contracts.ts. Reading this file
// top to bottom shows who talks to whom; no object wires itself into another later.
import type { DatabaseSync } from "node:sqlite";
import type { HostInfo } from "../qemu/host.ts";
import { ChangeFeed } from "../store/feed.ts";
import type { ImageStore } from "../store/image_store.ts";
import type { NetworkStore } from "../store/network_store.ts";
import type { ObjectStore } from "../store/objects.ts";
import { ProcessStore } from "../store/processes.ts";
import { RefStore } from "../store/refs.ts";
import type { VmStore } from "../store/vm_store.ts";
import type { VolumeStore } from "../store/volume_store.ts";
import type { SnapshotStore } from "../store/snapshot_store.ts";
import { Claims } from "./claims.ts";
import type { DaemonConfig } from "./config.ts";
import { CHECKPOINT, IMAGE, type NameOf, NETWORK, SNAPSHOT, VM, VOLUME } from "./contracts.ts";
import { ImageController } from "./controllers/image.ts";
import { NetworkController } from "./controllers/network.ts";
import { StatusProjections } from "./controllers/projections.ts";
import { VmController } from "./controllers/vm/controller.ts";
import { VmLaunch } from "./controllers/vm/launch.ts";
import { VmLinks } from "./controllers/vm/links.ts";
import { QEMU } from "./controllers/vm/runner.ts";
import { LinkEngines } from "./controllers/network_engine.ts";
import { NetworkCapture } from "./controllers/network_capture.ts";
import { VmRunner } from "./controllers/vm/runner.ts";
import { VmRuntimes } from "./controllers/vm/runtimes.ts";
import { VmReadiness } from "./controllers/vm/readiness.ts";
import { VmNetworkLinks } from "./controllers/vm_network.ts";
import { attachedResize } from "./controllers/vm_volume.ts";
import { VolumeController } from "./controllers/volume.ts";
import { SnapshotController } from "./controllers/snapshot/controller.ts";
import { CheckpointController } from "./controllers/checkpoint.ts";
import { KINDS } from "./kinds.ts";
import { DataLayout } from "./layout.ts";
import { KeyedMutex } from "./locks.ts";
import type { ServiceImpl } from "./server.ts";
import { daemonService } from "./services/daemon.ts";
import { imageService } from "./services/image.ts";
import { networkService } from "./services/network.ts";
import { vmService } from "./services/vm.ts";
import { volumeService } from "./services/volume.ts";
import { snapshotService } from "./services/snapshot.ts";
import { checkpointService } from "./services/checkpoint.ts";
import { watchService } from "./services/watch.ts";
import { serve } from "./services/rpc.ts";
import { CODE_TTL_MS, Sessions } from "./dashboard/session.ts";
import * as T from "../api/gen/infrasim.v1.ts";
import { Supervisor } from "./supervisor/supervisor.ts";
import { DaemonMetrics } from "./metrics/metrics.ts";

export interface Daemon {
  feed: ChangeFeed;
  locks: KeyedMutex;
  vms: VmController;
  images: ImageController;
  volumes: VolumeController;
  networks: NetworkController;
  snapshots: SnapshotController;
  checkpoints: CheckpointController;
  /** Every gRPC service but health, by full name. */
  services: ServiceImpl[];
  metrics: DaemonMetrics;
  /** Where the HTTP listener ended up, set by main once it listens; shown in the status. */
  http: { url: string };
  /** Dashboard logins: codes minted over the API, sessions the HTTP listener checks. */
  sessions: Sessions;
  /** Startup: stale files go, switches are adopted, then every VM (the promise ends when done). */
  start(): Promise<{ adopted: Promise<void> }>;
  /** Shutdown: stop watching; QEMU and helper processes keep running for the next daemon. */
  detach(): void;
}

export function compose(db: DatabaseSync, cfg: DaemonConfig, host: HostInfo): Daemon {
  const layout = new DataLayout(cfg.data_dir);
  const feed = new ChangeFeed(db, cfg.events.keep);
  const stores = new Map<string, ObjectStore<unknown, unknown>>(
    KINDS.map((k) => [k.kind, k.store(db, feed)]),
  );
  const vmStore = stores.get(VM) as VmStore;
  const imageStore = stores.get(IMAGE) as ImageStore;
  const volumeStore = stores.get(VOLUME) as VolumeStore;
  const networkStore = stores.get(NETWORK) as NetworkStore;
  const snapshotStore = stores.get(SNAPSHOT) as SnapshotStore;
  const nameOf: NameOf = (kind, id) =>
    (stores.get(kind) as ObjectStore<unknown, unknown> | undefined)?.get(id)?.meta.name ?? id;

  const locks = new KeyedMutex();
  const refs = new RefStore(db);
  const claims = new Claims(locks, cfg.ports, (proto, port) => vmStore.portOwner(proto, port));
  const supervisor = new Supervisor(new ProcessStore(db));
  const projections = new StatusProjections(refs, vmStore, volumeStore, networkStore);
  const runtimes = new VmRuntimes();
  const readiness = new VmReadiness(vmStore, runtimes);
  const engines = new LinkEngines(networkStore, supervisor, locks, layout);
  const links = new VmLinks(
    locks,
    vmStore,
    networkStore,
    runtimes,
    layout,
    projections,
    engines,
    (id) => supervisor.record({ kind: VM, id }, QEMU)?.info.links,
  );
  const images = new ImageController(
    imageStore,
    refs,
    locks,
    claims,
    layout,
    host.qemuImg,
    nameOf,
  );
  const volumes = new VolumeController(
    volumeStore,
    imageStore,
    refs,
    locks,
    claims,
    layout,
    host.qemuImg,
    nameOf,
    attachedResize(locks, runtimes),
  );
  const networks = new NetworkController(
    networkStore,
    refs,
    locks,
    claims,
    engines,
    layout,
    nameOf,
    new VmNetworkLinks(links, refs, feed),
  );
  const runner = new VmRunner(
    vmStore,
    supervisor,
    host,
    cfg,
    claims,
    layout,
    runtimes,
    new VmLaunch(links, volumeStore, host, layout, readiness),
  );
  const captures = new NetworkCapture(networkStore, vmStore, engines);
  const snapshots = new SnapshotController(
    snapshotStore,
    vmStore,
    volumeStore,
    refs,
    locks,
    claims,
    runtimes,
    layout,
    host.qemuImg,
    (vmId, snap) => captures.endFor(vmId, vmStore.get(vmId)?.meta.name ?? vmId, snap),
  );
  const vms = new VmController(
    vmStore,
    refs,
    supervisor,
    locks,
    claims,
    cfg,
    host,
    layout,
    runner,
    links,
    volumeStore,
    networkStore,
    projections,
    readiness,
    feed,
    snapshots,
  );

  const checkpoints = new CheckpointController(
    stores.get(CHECKPOINT) as ObjectStore<T.CheckpointSpec, T.CheckpointStatus>,
    vmStore,
    networkStore,
    snapshots,
    refs,
    locks,
    claims,
    runtimes,
    {
      setNetworkQos: (id, qos) => networks.setLinkQos(id, qos),
      setVmLinks: (id, nics) => links.setSaved(id, nics),
      holdLinks: (ids, ms) => engines.hold(ids, ms),
    },
  );

  const http = { url: "" };
  const sessions = new Sessions();
  const byKind: Record<string, ServiceImpl["impl"]> = {
    [VM]: serve(T.VmServiceShape, vmService(vms)),
    [IMAGE]: serve(T.ImageServiceShape, imageService(images)),
    [VOLUME]: serve(T.VolumeServiceShape, volumeService(volumes)),
    [NETWORK]: serve(
      T.NetworkServiceShape,
      networkService(networks, captures),
    ),
    [SNAPSHOT]: serve(T.SnapshotServiceShape, snapshotService(snapshots)),
    [CHECKPOINT]: serve(T.CheckpointServiceShape, checkpointService(checkpoints)),
  };
  const services: ServiceImpl[] = [
    ...KINDS.map((k) => ({ name: k.service, impl: byKind[k.kind] })),
    {
      name: "infrasim.v1.WatchService",
      impl: serve(T.WatchServiceShape, watchService(feed, stores)),
    },
    {
      name: "infrasim.v1.DaemonService",
      impl: serve(
        T.DaemonServiceShape,
        daemonService({
          config: cfg,
          qemu: Object.entries(host.binaries).map(([arch, b]) => ({
            arch,
            path: b.path,
            version: b.version,
          })),
          accelerators: host.accelerators,
          vmCounts: () => vms.counts(),
          httpUrl: () => http.url,
          loginCode: () => sessions.mintCode(),
          loginTtlSeconds: CODE_TTL_MS / 1000,
        }),
      ),
    },
  ];

  const metrics = new DaemonMetrics({
    vms: () => vmStore.list(),
    runtime: (id) => runtimes.runtime(id),
    networks: () => networkStore.list(),
    engineStats: (id) => engines.stats(id),
    carried: (id) => engines.carried(id),
    subscribe: (l) => feed.subscribe(l),
  });

  return {
    feed,
    locks,
    metrics,
    http,
    sessions,
    vms,
    images,
    volumes,
    networks,
    snapshots,
    checkpoints,
    services,
    async start() {
      await images.init();
      await volumes.init();
      // Engines first: they carry the links of the VMs adopted next.
      await networks.init();
      // Adoption takes every VM's lock before the first call is served; then each
      // engine is told exactly the links of its running VMs.
      // Snapshots cut short by the last daemon are dealt with once their VMs are adopted.
      const adopted = vms.adoptAll().then(() => links.carryAll()).then(() => vms.refreshAll())
        .then(() => snapshots.recover()).then(() => checkpoints.recover());
      return { adopted };
    },
    detach() {
      metrics.close();
      readiness.detachAll();
      vms.detachAll();
      networks.detachAll();
    },
  };
}
