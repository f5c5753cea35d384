// What the HTTP listener serves for the dashboard, past its session and Origin checks:
// the API over Connect (the daemon's own services, minus minting logins), capture
// downloads, the console WebSocket, and the page's embedded files.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { DaemonService } from "../../api/gen/es/infrasim/v1/daemon_pb.ts";
import { WatchService } from "../../api/gen/es/infrasim/v1/events_pb.ts";
import { ImageService } from "../../api/gen/es/infrasim/v1/image_pb.ts";
import { NetworkService } from "../../api/gen/es/infrasim/v1/network_pb.ts";
import { VmService } from "../../api/gen/es/infrasim/v1/vm_pb.ts";
import { VolumeService } from "../../api/gen/es/infrasim/v1/volume_pb.ts";
import type { VmController } from "../controllers/vm/controller.ts";
import type { CallObserver, ServiceImpl } from "../server.ts";
import { bridgeServices } from "./connect.ts";
import { captureDownload } from "./capture.ts";
import { type Asset, asset } from "./pages.ts";
import type { Sessions } from "./session.ts";
import { dashboardSockets } from "./sockets.ts";

export interface DashboardRoutes {
  sessions: Sessions;
  /** The Connect API, mounted under /api/. */
  api(req: IncomingMessage, res: ServerResponse): void;
  /** GET /capture: a link's frames as a pcapng download. */
  capture(req: IncomingMessage, res: ServerResponse): Promise<void>;
  asset(path: string): Asset | undefined;
  /** WebSockets under /ws/. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends what outlives a request: the WebSockets. */
  close(): void;
}

/** A browser session must not mint logins for further browsers. */
const NOT_SERVED = new Set(["infrasim.v1.DaemonService/CreateDashboardLogin"]);

export function dashboardRoutes(d: {
  services: ServiceImpl[];
  sessions: Sessions;
  vms: VmController;
  onCall?: CallObserver;
}): DashboardRoutes {
  const api = connectNodeAdapter({
    requestPathPrefix: "/api",
    // Connect only: the page's own client speaks it; gRPC stays on the gRPC ports.
    grpc: false,
    grpcWeb: false,
    readMaxBytes: 4 << 20,
    routes: (router) =>
      bridgeServices(
        router,
        [VmService, ImageService, VolumeService, NetworkService, WatchService, DaemonService],
        d.services,
        { skip: NOT_SERVED, onCall: d.onCall },
      ),
  });
  const network = d.services.find((s) => s.name === NetworkService.typeName)!.impl;
  const sockets = dashboardSockets(d.vms);
  return {
    sessions: d.sessions,
    api: (req, res) => api(req, res),
    capture: (req, res) => captureDownload(network, req, res),
    asset,
    upgrade: sockets.upgrade,
    close: sockets.closeAll,
  };
}
