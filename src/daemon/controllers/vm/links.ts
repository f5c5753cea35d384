// A running VM's links to private networks. Each NIC is a `-netdev stream` socket that QEMU
// listens on; the network's link engine connects to it and carries the link, with its
// impairment. This tells each engine which links to carry (all of its network's running
// NICs, whenever one starts, stops or changes), and stores each link's state in the VM's
// status whenever it may have changed, so watchers see it.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { invalid, quote } from "../../../api/errors.ts";
import { effectiveQos } from "../../../api/validate/network.ts";
import type { FullQos } from "../../../api/qos.ts";
import { type Cidr, parseCidr } from "../../../api/ipv4.ts";
import { fromQos } from "../../../network/impair/config.ts";
import type { EngineLinkConfig } from "../../../network/engine_protocol.ts";
import type { PrivateNic } from "../../../qemu/args.ts";
import type { NetworkStore, StoredNetwork } from "../../../store/network_store.ts";
import type { StoredVm, VmStore } from "../../../store/vm_store.ts";
import {
  type LinkCarrier,
  NETWORK,
  type Projections,
  type RunningVms,
  type VmDataPath,
} from "../../contracts.ts";
import type { DataLayout } from "../../layout.ts";
import type { KeyedMutex } from "../../locks.ts";
import { LINK_DATA_PATH } from "./runner.ts";
import { log } from "../../log.ts";
import { nextMeta, sameJson } from "../common.ts";

/** Link processes of the previous data path (vde2), found in data dirs it wrote. */
export const isLegacyLinkRole = (role: string) => /^nic\d+-(switch|filter)$/.test(role);

/** Everything a start needs to know of one interface; sock is QEMU's listening socket. */
export interface NicPlan extends PrivateNic {
  index: number;
  networkId: string;
  networkName: string;
  qos: FullQos;
  /** What the VM receives: its own values. */
  receiveQos: FullQos;
  /** false: the link is set down (a pulled cable). */
  up: boolean;
}

const LEGACY_MESSAGE =
  "this VM was started on the previous network data path (vde2); restart it to join the link engine";

export class VmLinks {
  /** The NICs the engines carry, by VM: set before its QEMU starts, gone after it stops. */
  #carried = new Map<string, NicPlan[]>();
  /** Running VMs whose QEMU still uses the vde2 netdev: their links stay down. */
  #legacy = new Set<string>();
  /** Links whose guest was shown no carrier ("<vm>/<index>"). */
  #carrierShown = new Set<string>();
  /** Until every VM is adopted after a restart, engines keep what their file says. */
  #adopting = true;

  constructor(
    private readonly locks: KeyedMutex,
    private readonly vms: VmStore,
    private readonly networks: NetworkStore,
    private readonly running: RunningVms,
    private readonly layout: DataLayout,
    private readonly projections: Projections,
    private readonly engines: LinkCarrier,
    private readonly dataPath: VmDataPath,
  ) {}

  /** QEMU's socket for NIC i, in the VM's dir (short: data_dir is checked against the limit). */
  socketPath(vmId: string, i: number): string {
    return join(this.layout.vmDir(vmId), `nic${i}.sock`);
  }

  #serial<R>(vmId: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(`LINKS/${vmId}`, fn);
  }

  #resolve(ref: string, field: string): StoredNetwork {
    const n = this.networks.find(ref);
    if (!n) throw invalid(field, `network ${quote(ref)} not found`);
    return n;
  }

  /** The interfaces of a VM as they would start now (networks resolved, QoS merged). */
  plan(vm: StoredVm): NicPlan[] {
    return (vm.spec.network_interfaces ?? []).map((n, i) => {
      const net = this.#resolve(n.network, `spec.network_interfaces[${i}].network`);
      return {
        index: i,
        networkId: net.meta.id,
        networkName: net.meta.name,
        sock: this.socketPath(vm.meta.id, i),
        mac: n.mac,
        ip: n.ip,
        prefix: (parseCidr(net.spec.cidr) as Cidr).prefix,
        mtu: net.spec.mtu,
        qos: effectiveQos(net.spec.link_qos, n.link_qos),
        receiveQos: effectiveQos({}, n.receive_link_qos),
        up: n.link_state !== "down",
      };
    });
  }

  /** Before QEMU starts: its networks' engines will connect to its NICs once it listens. */
  up(vm: StoredVm, plans: NicPlan[]): Promise<void> {
    const id = vm.meta.id;
    return this.#serial(id, async () => {
      if (plans.length === 0) return;
      for (const p of plans) {
        this.engines.assertActive(
          this.networks.get(p.networkId)!,
          `spec.network_interfaces[${p.index}].network`,
        );
        await rm(p.sock, { force: true });
      }
      this.#legacy.delete(id);
      await this.#carry(id, plans);
    });
  }

  /** QEMU is gone (or never came up): its links leave their engines. */
  down(vmId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      this.#legacy.delete(vmId);
      await this.#carry(vmId, []);
      this.refresh(vmId);
    });
  }

  /** After a daemon restart, for a VM whose QEMU was adopted. */
  adopt(vm: StoredVm): Promise<void> {
    const id = vm.meta.id;
    return this.#serial(id, async () => {
      const plans = this.plan(vm);
      if (plans.length && this.dataPath(id) !== LINK_DATA_PATH) this.#legacy.add(id);
      else this.#carried.set(id, plans);
      // A link set down stays so in QEMU; setting it again tells us the guest knows.
      if (plans.some((p) => !p.up) && !this.#legacy.has(id)) await this.#carrier(id, plans);
      this.refresh(id);
    });
  }

  /** Once every VM is adopted: each engine gets exactly the links of its running VMs. */
  async carryAll(): Promise<void> {
    this.#adopting = false;
    await Promise.all(
      this.networks.list().map((n) => this.engines.carry(n.meta.id, this.#linksOf(n.meta.id))),
    );
  }

  /**
   * Sets a VM's links' impairment and state back to `saved` (a checkpoint's), in its spec
   * and live; the caller holds the VM's lock. A link matches by network and MAC; others
   * stay as they are, and nothing changes when all are the same.
   */
  async setSaved(vmId: string, saved: T.NetworkInterface[]): Promise<void> {
    const cur = this.vms.get(vmId);
    if (!cur) return;
    const nics = cur.spec.network_interfaces.map((n) => {
      const was = saved.find((s) => s.network === n.network && s.mac === n.mac);
      if (!was) return n;
      const { link_qos, link_state, receive_link_qos } = was;
      return { ...n, link_qos, link_state, receive_link_qos };
    });
    if (sameJson(nics, cur.spec.network_interfaces)) return;
    this.vms.update({
      ...cur,
      spec: { ...cur.spec, network_interfaces: nics },
      meta: nextMeta(cur.meta, true),
    });
    await this.apply(vmId);
  }

  /** Sets every running link of a VM to its current effective impairment and state. */
  apply(vmId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      const vm = this.vms.get(vmId);
      if (vm && this.#carried.has(vmId) && this.running.runtime(vmId)) {
        const plans = this.plan(vm);
        await this.#carry(vmId, plans);
        await this.#carrier(vmId, plans);
      }
      this.refresh(vmId);
    });
  }

  /**
   * QEMU has started: its links are stored as up now (before the start returns), and a
   * link set down shows the guest no carrier from the start.
   */
  started(vmId: string): void {
    this.refresh(vmId);
    const plans = this.#carried.get(vmId) ?? [];
    if (!plans.some((p) => !p.up)) return;
    this.#serial(vmId, async () => {
      await this.#carrier(vmId, plans);
      this.refresh(vmId);
    }).catch((e) => log.warn("set_link failed", { vm: vmId, error: String(e) }));
  }

  /**
   * The guest's view of each link's carrier (QMP set_link on its netdev). The engine
   * drops the frames either way; this only lets the guest notice, and a QEMU that
   * cannot is reported in the link's message.
   */
  async #carrier(vmId: string, plans: NicPlan[]): Promise<void> {
    const rt = this.running.runtime(vmId);
    for (const p of plans) {
      const key = `${vmId}/${p.index}`;
      this.#carrierShown.delete(key);
      if (!rt) continue;
      try {
        await rt.qmp.execute("set_link", { name: `vnet${p.index}`, up: p.up });
        if (!p.up) this.#carrierShown.add(key);
      } catch (e) {
        log.warn("set_link failed", { vm: vmId, nic: p.index, error: String(e) });
      }
    }
  }

  /** Sets what the engines carry of one VM, and tells every network it was or is on. */
  async #carry(vmId: string, plans: NicPlan[]): Promise<void> {
    const nets = new Set([...(this.#carried.get(vmId) ?? []), ...plans].map((p) => p.networkId));
    if (plans.length) this.#carried.set(vmId, plans);
    else this.#carried.delete(vmId);
    if (this.#adopting) return;
    for (const n of nets) {
      if (this.networks.get(n)) await this.engines.carry(n, this.#linksOf(n));
    }
  }

  #linksOf(networkId: string): EngineLinkConfig[] {
    const out: EngineLinkConfig[] = [];
    for (const [vmId, plans] of this.#carried) {
      const name = this.vms.get(vmId)?.meta.name ?? vmId;
      for (const p of plans) {
        if (p.networkId !== networkId) continue;
        out.push({
          id: `${vmId}/${p.index}`,
          name: `${name}:nic${p.index}`,
          socket: p.sock,
          up: p.up,
          sent: fromQos(p.qos),
          received: fromQos(p.receiveQos),
        });
      }
    }
    return out;
  }

  /** "up", "down" or "repairing", as the VM's status reports a link, and why. */
  #state(vmId: string, p: NicPlan): { state: string; message: string } {
    const networkId = p.networkId;
    if (!this.running.runtime(vmId)) return { state: "down", message: "" };
    if (this.#legacy.has(vmId)) return { state: "down", message: LEGACY_MESSAGE };
    if (!p.up) {
      return {
        state: "down",
        message: `set down (link_state)${
          this.#carrierShown.has(`${vmId}/${p.index}`) ? "; the guest sees no carrier" : ""
        }`,
      };
    }
    return this.engines.active(networkId)
      ? { state: "up", message: "" }
      : { state: "repairing", message: "the network's link engine is being started again" };
  }

  /**
   * Stores each link of a VM as it is now (state and effective values), and the
   * attachments of its networks; nothing is recorded when nothing changed.
   */
  refresh(vmId: string): void {
    const vm = this.vms.get(vmId);
    if (!vm) return;
    let links: T.LinkStatus[];
    try {
      links = linkStatus(this.plan(vm), (p) => this.#state(vmId, p));
    } catch {
      links = []; // a network gone meanwhile: the next refresh shows it
    }
    this.vms.patchStatus(vmId, { links });
    this.projections.refresh(
      this.projections.targetsOf(vmId).filter((t) => t.kind === NETWORK),
    );
  }

  /** Every VM on a network, refreshed (its engine stopped or started). */
  refreshNetwork(networkId: string): void {
    for (const [vmId, plans] of this.#carried) {
      if (plans.some((p) => p.networkId === networkId)) this.refresh(vmId);
    }
  }
}

/** The status of a VM's links, one per interface. */
export function linkStatus(
  plans: NicPlan[],
  state: (p: NicPlan) => { state: string; message: string },
): T.LinkStatus[] {
  return plans.map((p) => ({
    network_id: p.networkId,
    network_name: p.networkName,
    ip: p.ip,
    prefix_length: p.prefix,
    mac: p.mac,
    link_qos: { ...p.qos },
    receive_link_qos: { ...p.receiveQos },
    ...state(p),
  }));
}
