// infrasim.v1.SnapshotService: translation between gRPC and the snapshot controller.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { SnapshotController } from "../controllers/snapshot/controller.ts";

export function snapshotService(snapshots: SnapshotController): T.SnapshotServiceHandlers {
  return {
    CreateSnapshot: (r) => snapshots.create(r),
    GetSnapshot: (r) => snapshots.get(r.ref),
    ListSnapshots: (r) => ({ snapshots: snapshots.listFor(r.label_selector, r.vm) }),
    DeleteSnapshot: async (r) => ({ id: await snapshots.delete(r.ref) }),
    RestoreSnapshot: (r) => snapshots.restore(r.ref),
  };
}
