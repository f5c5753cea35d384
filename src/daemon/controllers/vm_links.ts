// A running VM's links to private networks. Each interface gets its own small vde_switch
// (QEMU plugs into it) and a wirefilter from that switch to the network's: the filter can
// be restarted, or its impairment changed, without QEMU noticing. Both are supervised
// like QEMU, owned by the VM; they start before QEMU and go when it is gone.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { effectiveQos, type FullQos } from "../../api/validate/network.ts";
import { type Cidr, parseCidr } from "../../api/ipv4.ts";
import { qosCommands, switchArgs, wirefilterArgs } from "../../network/vde.ts";
import { vdeTools } from "../../network/tools.ts";
import { runConsole } from "../../network/wirefilter_console.ts";
import type { PrivateNic } from "../../qemu/args.ts";
import type { ProcessRecord } from "../../store/processes.ts";
import type { StoredVm } from "../../store/vm_store.ts";
import type { KeyedMutex } from "../locks.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import { marker } from "../../process/os.ts";
import { ProcessWatch } from "../../process/watch.ts";
import { log } from "../log.ts";
import type { NetworkController } from "./network.ts";

const VM = "VM";
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
  #filters = new Map<string, ProcessWatch>();
  /** Whether a VM's QEMU runs: a filter of a stopped VM is not started again. */
  running: (vmId: string) => boolean = () => false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly locks: KeyedMutex,
    private readonly networks: NetworkController,
    private readonly vmDir: (id: string) => string,
  ) {}

  /**
   * In the VM's dir, named short: the port switch's socket dir <vm dir>/nic<i> holds its
   * clients' "<port>.<n>" sockets, within the path limit data_dir is checked against.
   */
  paths(vmId: string, i: number): LinkPaths {
    const base = join(this.vmDir(vmId), `nic${i}`);
    return {
      port: { sock: base, pidFile: `${base}.pid` },
      mgmt: `${base}.wf`,
      filterPid: `${base}.wf.pid`,
    };
  }

  #serial<R>(vmId: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(`LINKS/${vmId}`, fn);
  }

  /** The interfaces of a VM as they would start now (networks resolved, QoS merged). */
  plan(vm: StoredVm): NicPlan[] {
    return (vm.spec.network_interfaces ?? []).map((n, i) => {
      const net = this.networks.resolve(n.network, `spec.network_interfaces[${i}].network`);
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
          const net = this.networks.find(p.networkId);
          this.networks.assertActive(net, `spec.network_interfaces[${p.index}].network`);
          const lp = this.paths(id, p.index);
          await mkdir(this.vmDir(id), { recursive: true, mode: 0o700 });
          // A switch refuses a socket dir left by a killed one.
          await rm(lp.port.sock, { recursive: true, force: true });
          await this.supervisor.launch({
            owner: owner(id),
            role: portRole(p.index),
            binary: tools.vdeSwitch,
            args: switchArgs(lp.port),
            pidFile: lp.port.pidFile,
            marker: marker("-p", lp.port.pidFile),
          });
          await this.#startFilter(id, p);
        }
      } catch (e) {
        await this.#downAll(id);
        throw e;
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
        this.networks.switchPaths(p.networkId).sock,
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

  /** A filter that dies while its VM runs is started again: the link comes back. */
  #watchFilter(vmId: string, i: number, pid: number): void {
    const key = `${vmId}/${i}`;
    this.#filters.get(key)?.detach();
    const w = new ProcessWatch(pid);
    this.#filters.set(key, w);
    w.exited.then(() =>
      this.#serial(vmId, async () => {
        if (this.#filters.get(key) !== w) return;
        this.#filters.delete(key);
        if (!this.running(vmId)) return;
        log.warn("link filter exited; starting it again", { vm: vmId, nic: i, pid });
        await this.#restartFilter(vmId, i);
      })
    ).catch((e) => log.error("link repair failed", { vm: vmId, nic: i, error: String(e) }));
  }

  async #restartFilter(vmId: string, i: number): Promise<void> {
    const rec = this.supervisor.record(owner(vmId), filterRole(i));
    if (rec) await this.supervisor.reap(rec);
    const vm = this.vm(vmId);
    const p = vm && this.plan(vm)[i];
    if (!p) return;
    await this.#startFilter(vmId, p);
  }

  /** Set by the VM controller: a VM by id. */
  vm: (id: string) => StoredVm | undefined = () => undefined;

  /** Stops every link process of a VM (its QEMU is gone, or never came up). */
  down(vmId: string): Promise<void> {
    return this.#serial(vmId, () => this.#downAll(vmId));
  }

  async #downAll(vmId: string): Promise<void> {
    for (const [key, w] of this.#filters) {
      if (!key.startsWith(`${vmId}/`)) continue;
      w.detach();
      this.#filters.delete(key);
    }
    for (const rec of this.records(vmId)) await this.supervisor.reap(rec);
  }

  records(vmId: string): ProcessRecord[] {
    return this.supervisor.store.list(VM).filter((r) => r.owner.id === vmId && isLinkRole(r.role));
  }

  /**
   * After a daemon restart, for a VM whose QEMU was adopted: watches its filters, and
   * starts again those that died meanwhile. A port switch that died cannot be repaired
   * without QEMU reconnecting: that link is reported down until the VM restarts.
   */
  adopt(vm: StoredVm): Promise<void> {
    const id = vm.meta.id;
    return this.#serial(id, async () => {
      for (const p of this.plan(vm)) {
        const filter = this.supervisor.record(owner(id), filterRole(p.index));
        const fresh = this.networks.restartedAtInit.has(p.networkId);
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
    });
  }

  /** "up", "down" or "repairing", as the VM's status reports a link, and why. */
  state(vmId: string, i: number): { state: string; message: string } {
    if (!this.running(vmId)) return { state: "down", message: "" };
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

  /** Sets every running link of a VM to its current effective impairment. */
  apply(vmId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      const vm = this.vm(vmId);
      if (!vm || !this.running(vmId)) return;
      for (const p of this.plan(vm)) {
        const rec = this.supervisor.record(owner(vmId), filterRole(p.index));
        if (!this.supervisor.alive(rec)) continue; // its restart takes the new values
        try {
          await runConsole(this.paths(vmId, p.index).mgmt, qosCommands(p.qos));
        } catch (e) {
          // The new values are stored: a filter started anew takes them, so the link
          // never keeps impairment that its status no longer reports.
          log.warn("link console failed; restarting the filter", { vm: vmId, error: String(e) });
          this.#filters.get(`${vmId}/${p.index}`)?.detach();
          this.#filters.delete(`${vmId}/${p.index}`);
          await this.#restartFilter(vmId, p.index);
        }
      }
    });
  }

  /** A network's switch came back: every filter into it is started again. */
  replug(vmId: string, networkId: string): Promise<void> {
    return this.#serial(vmId, async () => {
      const vm = this.vm(vmId);
      if (!vm || !this.running(vmId)) return;
      for (const p of this.plan(vm)) {
        if (p.networkId !== networkId) continue;
        this.#filters.get(`${vmId}/${p.index}`)?.detach();
        this.#filters.delete(`${vmId}/${p.index}`);
        await this.#restartFilter(vmId, p.index);
      }
    });
  }

  detachAll(): void {
    for (const w of this.#filters.values()) w.detach();
    this.#filters.clear();
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
