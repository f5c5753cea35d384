// infrasim.v1.CheckpointService: translation between gRPC and the checkpoint controller.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { CheckpointController } from "../controllers/checkpoint.ts";

export function checkpointService(checkpoints: CheckpointController): T.CheckpointServiceHandlers {
  return {
    CreateCheckpoint: (r) => checkpoints.create(r),
    GetCheckpoint: (r) => checkpoints.get(r.ref),
    ListCheckpoints: (r) => ({ checkpoints: checkpoints.list(r.label_selector) }),
    DeleteCheckpoint: async (r) => ({ id: await checkpoints.delete(r.ref) }),
    RestoreCheckpoint: (r) => checkpoints.restore(r.ref),
  };
}
