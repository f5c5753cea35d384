// infrasim.v1.NetworkService: translation between gRPC and the network controller; a
// capture's pcapng bytes are relayed from the link engine as they come, at the client's
// pace (a slow client makes the engine drop capture frames, never link frames).
import type * as grpc from "@grpc/grpc-js";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { NetworkController } from "../controllers/network.ts";
import type { NetworkCapture } from "../controllers/network_capture.ts";
import { toStatus } from "./rpc.ts";
import { ApiError, Status } from "../../api/errors.ts";

export function networkService(
  networks: NetworkController,
  capture: NetworkCapture,
): T.NetworkServiceHandlers {
  return {
    CreateNetwork: (r) => networks.create(r),
    GetNetwork: (r) => networks.get(r.ref),
    ListNetworks: (r) => ({ networks: networks.list(r.label_selector) }),
    UpdateNetwork: (r) => networks.update(r),
    DeleteNetwork: async (r) => ({ id: await networks.delete(r.ref) }),
    GetNetworkCounters: (r) => networks.counters(r.ref),
    CaptureNetwork: (call) => captureHandler(capture, call),
  };
}

function captureHandler(
  capture: NetworkCapture,
  call: grpc.ServerWritableStream<T.CaptureNetworkRequest, T.CaptureChunk>,
): void {
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  capture.open(call.request).then(({ socket, head, durationMs, endedBecause }) => {
    if (cancelled) return socket.destroy();
    const timer = durationMs ? setTimeout(() => socket.destroy(), durationMs) : undefined;
    const finish = () => {
      clearTimeout(timer);
      if (cancelled) return;
      const why = endedBecause();
      if (why) call.emit("error", toStatus(new ApiError(Status.ABORTED, why), "CaptureNetwork"));
      else call.end();
    };
    call.on("cancelled", () => {
      clearTimeout(timer);
      socket.destroy();
    });
    if (head.length) call.write({ data: head });
    socket.on("data", (d: Uint8Array) => {
      if (!call.write({ data: d })) {
        socket.pause();
        call.once("drain", () => socket.resume());
      }
    });
    socket.on("error", () => {});
    socket.on("close", finish);
    socket.resume();
  }, (e) => call.emit("error", toStatus(e, "CaptureNetwork")));
}
