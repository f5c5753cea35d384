/// <reference lib="dom" />
// The daemon's own API (infrasim.v1) over Connect, from the same proto/ as the CLI's:
// the page holds a session cookie, which the browser sends with every call.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { DaemonService } from "../../src/api/gen/es/infrasim/v1/daemon_pb.ts";
import { WatchService } from "../../src/api/gen/es/infrasim/v1/events_pb.ts";
import { ImageService } from "../../src/api/gen/es/infrasim/v1/image_pb.ts";
import { NetworkService } from "../../src/api/gen/es/infrasim/v1/network_pb.ts";
import { VmService } from "../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import { VolumeService } from "../../src/api/gen/es/infrasim/v1/volume_pb.ts";

const transport = createConnectTransport({
  baseUrl: `${location.origin}/api`,
  useBinaryFormat: true,
});

export const api = {
  daemon: createClient(DaemonService, transport),
  watch: createClient(WatchService, transport),
  images: createClient(ImageService, transport),
  networks: createClient(NetworkService, transport),
  vms: createClient(VmService, transport),
  volumes: createClient(VolumeService, transport),
};

/** The message a failed call shows: the daemon's own words. */
export function errorText(e: unknown): string {
  if (e instanceof ConnectError) {
    if (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied) {
      return "signed out: run `infrasim dashboard` again";
    }
    return e.rawMessage;
  }
  return String((e as Error)?.message ?? e);
}

export { Code, ConnectError };
