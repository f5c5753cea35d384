// infrasim.v1.VolumeService: translation between gRPC and the volume controller.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { VolumeController } from "../controllers/volume.ts";

export function volumeService(volumes: VolumeController): T.VolumeServiceHandlers {
  return {
    CreateVolume: (r) => volumes.create(r),
    GetVolume: (r) => volumes.get(r.ref),
    ListVolumes: (r) => ({ volumes: volumes.list(r.label_selector) }),
    UpdateVolume: (r) => volumes.update(r),
    DeleteVolume: async (r) => ({ id: await volumes.delete(r.ref) }),
  };
}
