// A running VM's links to private networks. Each interface gets its own small vde_switch
// (QEMU plugs into it) and a wirefilter from that switch to the network's: the filter can
// be restarted, or its impairment changed, without QEMU noticing. Both are supervised
// like QEMU, owned by the VM; they start before QEMU and go when it is gone. Each link's
// state is stored in the VM's status whenever it may have changed (a process starting or
// exiting, new values), so watchers see it.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { invalid, quote } from "../../../api/errors.ts";
import { effectiveQos } from "../../../api/validate/network.ts";
import type { FullQos } from "../../../api/qos.ts";
import { type Cidr, parseCidr } from "../../../api/ipv4.ts";
import { qosCommands, switchArgs, wirefilterArgs } from "../../../network/vde.ts";
import { vdeTools } from "../../../network/tools.ts";
import { runConsole } from "../../../network/wirefilter_console.ts";
import type { PrivateNic } from "../../../qemu/args.ts";
import type { ProcessRecord } from "../../../store/processes.ts";
import type { NetworkStore, StoredNetwork } from "../../../store/network_store.ts";
import type { StoredVm, VmStore } from "../../../store/vm_store.ts";
import { NETWORK, type Projections, type RunningVms, VM } from "../../contracts.ts";
import type { DataLayout } from "../../layout.ts";
import type { KeyedMutex } from "../../locks.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import { marker } from "../../../process/os.ts";
import { ProcessWatch } from "../../../process/watch.ts";
import { log } from "../../log.ts";
import { assertNetworkActive } from "../network.ts";

const owner = (id: string) => ({ kind: VM, id });
export const portRole = (i: number) => `nic${i}-switch`;
export const filterRole = (i: number) => `nic${i}-filter`;
export const isLinkRole = (role: string) => /^nic\d+-(switch|filter)$/.test(role);

/** Everything a start needs to know of one interface; sock is the VM's own switch. */
export interface NicPlan extends PrivateNic {
  index: number;
  networkId: string;
  networkName: string;
  qos: FullQos;
}

interface LinkPaths {
  port: { sock: string; pidFile: string };
  mgmt: string;
  filterPid: string;
}

export class VmLinks {
  /** Watches of every link process of running VMs, by "<vm>/<role>". */
  #watches = new Map<string, ProcessWatch>();

  constructor(
    private readonly supervisor: Supervisor,
    private readonly locks: KeyedMutex,
    private readonly vms: VmStore,
    private readonly networks: NetworkStore,
    private readonly running: RunningVms,
    private readonly layout: DataLayout,
    private readonly projections: Projections,
    /**
     * Networks whose switch the network kind had to start anew at daemon start: the
     * filters of running VMs still point at the dead one (they neither exit nor
     * reconnect), so adoption replaces them. Filled before adoption begins.
     */
    private readonly restartedAtInit: ReadonlySet<string>,
  ) {}

  /**
   * In the VM's dir, named short: the port switch's socket dir <vm dir>/nic<i> holds its
   * clients' "<port>.<n>" sockets, within the path limit data_dir is checked against.
   */
  paths(vmId: string, i: number): LinkPaths {
    const base = join(this.layout.vmDir(vmId), `nic${i}`);
    return {
      port: { sock: base, pidFile: `${base}.pid` },
      mgmt: `${base}.wf`,
      filterPid: `${base}.wf.pid`,
    };
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
        sock: this.paths(vm.meta.id, i).port.sock,
        mac: n.mac,
        ip: n.ip,
        prefix: (parseCidr(net.spec.cidr) as Cidr).prefix,
        mtu: net.spec.mtu,
        qos: effectiveQos(net.spec.link_qos, n.link_qos),
      };
    });
  }

  /** Starts every link of a VM about to start. On failure nothing is left running. */
  up(vm: StoredVm, plans: NicPlan[]): Promise<void> {
    const id = vm.meta.id;
    return this.#serial(id, async () => {
      if (plans.length === 0) return;
      const tools = vdeTools();
      try {
        await this.#downAll(id);
        for (const p of plans) {
          const net = this.networks.get(p.networkId)!;
          assertNetworkActive(this.supervisor, net, `spec.network_interfaces[${p.index}].network`);
          const lp = this.paths(id, p.index);
          await mkdir(this.layout.vmDir(id), { recursive: true, mode: 0o700 });
          // A switch refuses a socket dir left by a killed one.
          await rm(lp.port.sock, { recursive: true, force: true });
          const rec = await this.supervisor.launch({
            owner: owner(id),
            role: portRole(p.index),
            binary: tools.vdeSwitch,
            args: switchArgs(lp.port),
            pidFile: lp.port.pidFile,
            marker: marker("-p", lp.port.pidFile),
          });
          this.#watchPort(id, p.index, rec.pid);
          await this.#startFilter(id, p);
        }
      } catch (e) {
        await this.#downAll(id);
        throw e;
      } finally {
        this.refresh(id);
      }
    });
  }

  async #startFilter(vmId: string, p: NicPlan): Promise<void> {
    const lp = this.paths(vmId, p.index);
    // wirefilter refuses a console socket left bound by a killed one.
    await rm(lp.mgmt, { force: true });
    const rec = await this.supervisor.launch({
      owner: owner(vmId),
      role: filterRole(p.index),
      binary: vdeTools().wirefilter,
      args: wirefilterArgs(
        lp.port.sock,
        this.layout.switchPaths(p.networkId).sock,
        p.qos,
        lp.mgmt,
        lp.filterPid,
      ),
      pidFile: lp.filterPid,
      marker: marker("--pidfile", lp.filterPid),
      info: { network: p.networkId },
    });
    this.#watchFilter(vmId, p.index, rec.pid);
  }

  #watch(vmId: string, role: string, pid: number, onExit: () => Promise<void>): void {
    const key = `${vmId}/${role}`;
    this.#watches.get(key)?.detach();
    const w = new ProcessWatch(pid);
    this.#watches.set(key, w);
    w.exited.then(() =>
      this.#serial(vmId, async () => {
        if (this.#watches.get(key) !== w) return;
        this.#watches.delete(key);
        await onExit();
      })
    ).catch((e) => log.error("link repair failed", { vm: vmId, role, error: String(e) }));
  }

  #unwatch(vmId: string, role: string): void {
    this.#watches.get(`${vmId}/${role}`)?.detach();
    this.#watches.delete(`${vmId}/${role}`);
  }

  /** A port switch that dies cannot be replaced under a running QEMU: the link is down. */
  #watchPort(vmId: string, i: number, pid: number): void {
    this.#watch(vmId, portRole(i), pid, () => {
      if (this.running.runtime(vmId)) log.warn("link port switch exited", { vm: vmId, nic: i });
      this.refresh(vmId);
      return Promise.resolve();
    });
  }

  /** A filter that dies while its VM runs is started again: the link comes back. */
  #watchFilter(vmId: string, i: number, pid: number): void {
    this.#watch(vmId, filterRole(i), pid, async () => {
      if (!this.running.runtime(vmId)) return;
      log.warn("link filter exited; starting it again", { vm: vmId, nic: i, pid });
      this.refresh(vmId);
      await this.#restartFilter(vmId, i);
    });
  }

  async #restartFilter(vmId: string, i: number): Promise<void> {
    this.#unwatch(vmId, filterRole(i));
    const rec = this.supervisor.record(owner(vmId), filterRole(i));
    if (rec) await this.supervisor.reap(rec);
    const vm = this.vms.get(vmId);
    const p = vm && this.plan(vm)[i];
    if (p) await this.#startFilter(vmId, p);
    this.refresh(vmId);
  }

  /** Stops every link process of a VM (its QEMU is gone, or never came up). */
  down(vmId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      await this.#downAll(vmId);
      this.refresh(vmId);
    });
  }

  async #downAll(vmId: string): Promise<void> {
    for (const [key, w] of this.#watches) {
      if (!key.startsWith(`${vmId}/`)) continue;
      w.detach();
      this.#watches.delete(key);
    }
    for (const rec of this.records(vmId)) await this.supervisor.reap(rec);
  }

  records(vmId: string): ProcessRecord[] {
    return this.supervisor.store.list(VM).filter((r) => r.owner.id === vmId && isLinkRole(r.role));
  }

  /**
   * After a daemon restart, for a VM whose QEMU was adopted: watches its link processes,
   * and starts again the filters that died meanwhile. A port switch that died cannot be
   * repaired without QEMU reconnecting: that link is reported down until the VM restarts.
   */
  adopt(vm: StoredVm): Promise<void> {
    const id = vm.meta.id;
    return this.#serial(id, async () => {
      for (const p of this.plan(vm)) {
        const port = this.supervisor.record(owner(id), portRole(p.index));
        if (port && this.supervisor.alive(port)) this.#watchPort(id, p.index, port.pid);
        const filter = this.supervisor.record(owner(id), filterRole(p.index));
        const fresh = this.restartedAtInit.has(p.networkId);
        if (filter && this.supervisor.alive(filter) && !fresh) {
          this.#watchFilter(id, p.index, filter.pid);
          continue;
        }
        log.warn(
          fresh
            ? "link filter plugged into a network switch that was started anew; replacing it"
            : "link filter not running after restart; starting it",
          { vm: id, nic: p.index },
        );
        await this.#restartFilter(id, p.index).catch((e) =>
          log.error("link filter cannot start", { vm: id, error: String(e) })
        );
      }
      this.refresh(id);
    });
  }

  /** "up", "down" or "repairing", as the VM's status reports a link, and why. */
  #state(vmId: string, i: number): { state: string; message: string } {
    if (!this.running.runtime(vmId)) return { state: "down", message: "" };
    const port = this.supervisor.record(owner(vmId), portRole(i));
    if (!this.supervisor.alive(port)) {
      return {
        state: "down",
        message: "the VM's port switch is gone; restart the VM to plug it in again",
      };
    }
    return this.supervisor.alive(this.supervisor.record(owner(vmId), filterRole(i)))
      ? { state: "up", message: "" }
      : { state: "repairing", message: "the link's wirefilter is being started again" };
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
      links = linkStatus(this.plan(vm), (i) => this.#state(vmId, i));
    } catch {
      links = []; // a network gone meanwhile: the next refresh shows it
    }
    this.vms.patchStatus(vmId, { links });
    this.projections.refresh(
      this.projections.targetsOf(vmId).filter((t) => t.kind === NETWORK),
    );
  }

  /** Sets every running link of a VM to its current effective impairment. */
  apply(vmId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      const vm = this.vms.get(vmId);
      if (!vm || !this.running.runtime(vmId)) return this.refresh(vmId);
      for (const p of this.plan(vm)) {
        const rec = this.supervisor.record(owner(vmId), filterRole(p.index));
        if (!this.supervisor.alive(rec)) continue; // its restart takes the new values
        try {
          await runConsole(this.paths(vmId, p.index).mgmt, qosCommands(p.qos));
        } catch (e) {
          // The new values are stored: a filter started anew takes them, so the link
          // never keeps impairment that its status no longer reports.
          log.warn("link console failed; restarting the filter", { vm: vmId, error: String(e) });
          await this.#restartFilter(vmId, p.index);
        }
      }
      this.refresh(vmId);
    });
  }

  /** A network's switch came back: every filter into it is started again. */
  replug(vmId: string, networkId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      const vm = this.vms.get(vmId);
      if (!vm || !this.running.runtime(vmId)) return;
      for (const p of this.plan(vm)) {
        if (p.networkId === networkId) await this.#restartFilter(vmId, p.index);
      }
    });
  }

  detachAll(): void {
    for (const w of this.#watches.values()) w.detach();
    this.#watches.clear();
  }
}

/** The status of a VM's links, one per interface. */
export function linkStatus(
  plans: NicPlan[],
  state: (i: number) => { state: string; message: string },
): T.LinkStatus[] {
  return plans.map((p) => ({
    network_id: p.networkId,
    network_name: p.networkName,
    ip: p.ip,
    prefix_length: p.prefix,
    mac: p.mac,
    link_qos: { ...p.qos },
    ...state(p.index),
  }));
}
