// Where things live in the data dir. Names are short: sockets under these dirs must stay
// within the unix socket path limit that data_dir's length is checked against.
import { join } from "node:path";
import type { SwitchPaths } from "../network/vde.ts";

/** Ports of a network's switch: one per VM interface on it (a VM's own switch needs 2). */
const SWITCH_PORTS = 1024;

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

  /** <data_dir>/net/<id>/s/1024.2047 (a client's socket) fits the limit. */
  netDir(id: string): string {
    return join(this.root, "net", id);
  }

  switchPaths(networkId: string): SwitchPaths {
    const d = this.netDir(networkId);
    return {
      sock: join(d, "s"),
      mgmt: join(d, "sw.mgmt"),
      pidFile: join(d, "sw.pid"),
      ports: SWITCH_PORTS,
    };
  }

  volumesDir(): string {
    return join(this.root, "volumes");
  }

  imagesDir(): string {
    return join(this.root, "images");
  }
}
