// infrasim.v1.VolumeService: translation between gRPC and the volume controller.
import type * as grpc from "@grpc/grpc-js";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { VolumeController } from "../controllers/volume.ts";
import { unary } from "./rpc.ts";

export function volumeService(volumes: VolumeController): grpc.UntypedServiceImplementation {
  return {
    CreateVolume: unary("CreateVolume", (r: T.CreateVolumeRequest) => volumes.create(r)),
    GetVolume: unary("GetVolume", (r: T.GetVolumeRequest) => volumes.get(r.ref)),
    ListVolumes: unary("ListVolumes", (r: T.ListVolumesRequest) => ({
      volumes: volumes.list(r.label_selector),
    })),
    UpdateVolume: unary("UpdateVolume", (r: T.UpdateVolumeRequest) => volumes.update(r)),
    DeleteVolume: unary(
      "DeleteVolume",
      async (r: T.DeleteVolumeRequest) => ({ id: await volumes.delete(r.ref) }),
    ),
  };
}
