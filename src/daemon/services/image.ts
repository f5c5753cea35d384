// infrasim.v1.ImageService: translation between gRPC and the image controller; the
// import is a server stream of progress, ended by the image.
import type * as grpc from "@grpc/grpc-js";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { ImageController } from "../controllers/image.ts";
import { toStatus } from "./rpc.ts";

const PROGRESS_EVERY_MS = 250;

export function imageService(images: ImageController): T.ImageServiceHandlers {
  return {
    ImportImage: (call) => importHandler(images, call),
    GetImage: (r) => images.find(r.ref),
    ListImages: (r) => ({ images: images.list(r.label_selector) }),
    UpdateImage: (r) => images.update(r),
    DeleteImage: async (r) => ({ id: await images.delete(r.ref) }),
  };
}

function importHandler(
  images: ImageController,
  call: grpc.ServerWritableStream<T.ImportImageRequest, T.ImportImageProgress>,
): void {
  // A client that goes away aborts the copy; the controller then leaves nothing behind.
  const abort = new AbortController();
  call.on("cancelled", () => abort.abort(new Error("the client went away")));
  let last = 0;
  const progress = (done: number, total: number | undefined) => {
    const t = Date.now();
    if (t - last < PROGRESS_EVERY_MS) return;
    last = t;
    call.write({ bytes_done: done, bytes_total: total ?? 0 });
  };
  images.import(call.request, progress, abort.signal).then(
    (image) => {
      call.write({
        bytes_done: image.status.actual_size_bytes,
        bytes_total: image.status.actual_size_bytes,
        image,
      });
      call.end();
    },
    (e) => {
      if (!abort.signal.aborted) call.emit("error", toStatus(e, "ImportImage"));
    },
  );
}
