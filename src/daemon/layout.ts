// Where things live in the data dir. Names are short: sockets under these dirs must stay
// within the unix socket path limit that data_dir's length is checked against.
import { join } from "node:path";

export class DataLayout {
  constructor(readonly root: string) {}

  vmsDir(): string {
    return join(this.root, "vms");
  }

  vmDir(id: string): string {
    return join(this.root, "vms", id);
  }

  netsDir(): string {
    return join(this.root, "net");
  }

  /** <data_dir>/net/<id>/ctl.sock (the link engine's control socket) fits the limit. */
  netDir(id: string): string {
    return join(this.root, "net", id);
  }

  volumesDir(): string {
    return join(this.root, "volumes");
  }

  imagesDir(): string {
    return join(this.root, "images");
  }
}
