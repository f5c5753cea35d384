// Packet capture on a network's links: which links a request names (checked, every bad
// field at once), and the engine's pcapng stream for them. The gRPC side only relays it.
import type { Socket } from "node:net";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { failedPrecondition, invalid, notFound, quote, Violations } from "../../api/errors.ts";
import type { CapturePoint } from "../../network/engine_protocol.ts";
import { openCapture } from "../../network/engine_client.ts";
import type { NetworkStore } from "../../store/network_store.ts";
import type { VmStore } from "../../store/vm_store.ts";
import type { LinkEngines } from "./network_engine.ts";
import { CAPTURE_LIMITS } from "../../api/validate/network.ts";

const POINTS: Record<string, CapturePoint[]> = {
  sent: ["sent"],
  delivered: ["delivered"],
  both: ["sent", "delivered"],
  "": ["sent", "delivered"],
};

export interface OpenCapture {
  socket: Socket;
  head: Uint8Array;
  durationMs: number;
  /** Why the daemon ended it early (one of its VMs was restored), or undefined. */
  endedBecause(): string | undefined;
}

interface Open {
  vmIds: Set<string>;
  socket: Socket;
  reason?: string;
}

export class NetworkCapture {
  #open = new Set<Open>();

  constructor(
    private readonly networks: NetworkStore,
    private readonly vms: VmStore,
    private readonly engines: LinkEngines,
  ) {}

  async open(req: T.CaptureNetworkRequest): Promise<OpenCapture> {
    const net = this.networks.find(req.ref);
    if (!net) throw notFound(`network ${quote(req.ref)} not found`);
    const vs = new Violations();
    const points = POINTS[req.point ?? ""];
    if (!points) {
      vs.add(
        "point",
        `must be sent, delivered or both (got ${quote(String(req.point).slice(0, 20))})`,
      );
    }
    for (const [f, [min, max]] of Object.entries(CAPTURE_LIMITS)) {
      const v = req[f as keyof typeof CAPTURE_LIMITS] ?? 0;
      if (f === "snaplen" && v === 0) continue;
      if (!Number.isInteger(v) || v < min || v > max) {
        vs.add(
          f,
          `must be a whole number between ${min} and ${max}${
            f === "snaplen" ? " (or 0: 65535)" : ""
          }`,
        );
      }
    }
    const carried = this.engines.carried(net.meta.id);
    let ids = carried.map((l) => l.id);
    if (req.vm) {
      const vm = this.vms.find(req.vm);
      if (!vm) vs.add("vm", `vm ${quote(req.vm)} not found`);
      else {
        const on = vm.spec.network_interfaces.map((n, i) =>
          this.networks.find(n.network)?.meta.id === net.meta.id ? i : -1
        ).filter((i) => i >= 0);
        const iface = req.interface;
        if (on.length === 0) {
          vs.add(
            "vm",
            `vm ${quote(vm.meta.name)} has no interface on network ${quote(net.meta.name)}`,
          );
        } else if (iface !== undefined && iface !== null && !on.includes(iface)) {
          vs.add(
            "interface",
            `vm ${quote(vm.meta.name)} has no interface ${iface} on network ${
              quote(net.meta.name)
            } (it has ${on.join(", ")})`,
          );
        }
        const want = (iface ?? null) === null ? on : [iface!];
        ids = want.map((i) => `${vm.meta.id}/${i}`);
        vs.done();
        const known = new Set(carried.map((l) => l.id));
        if (!ids.every((id) => known.has(id))) {
          throw failedPrecondition(
            `vm ${quote(vm.meta.name)} is not running: its link carries nothing to capture`,
          );
        }
      }
    } else if (req.interface !== undefined && req.interface !== null) {
      vs.add("interface", "needs vm: an interface index names one of that VM's interfaces");
    }
    vs.done();
    this.engines.assertActive(net, "ref");
    if (ids.length === 0) {
      throw invalid("ref", `network ${quote(net.meta.name)} has no running links to capture`);
    }
    const { socket, head } = await openCapture(this.engines.dir(net.meta.id), {
      op: "capture",
      links: ids,
      points: points!,
      count: req.count ?? 0,
      snaplen: req.snaplen || 65_535,
    });
    const open: Open = { vmIds: new Set(ids.map((id) => id.split("/")[0])), socket };
    this.#open.add(open);
    socket.once("close", () => this.#open.delete(open));
    return {
      socket,
      head,
      durationMs: (req.duration_seconds ?? 0) * 1000,
      endedBecause: () => open.reason,
    };
  }

  /**
   * Ends the captures that hold a link of this VM: its guest went back to a snapshot,
   * and the frames after that belong to another course of events than the ones before.
   */
  endFor(vmId: string, vmName: string, snapshot: string): void {
    for (const o of this.#open) {
      if (!o.vmIds.has(vmId)) continue;
      o.reason = `vm ${quote(vmName)} was restored from snapshot ${
        quote(snapshot)
      }: the capture ended there (start a new one for what follows)`;
      o.socket.destroy();
    }
  }
}
