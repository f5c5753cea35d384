// A VM's private-network interfaces: resolving their networks and claiming addresses.
// IPs come from the network's cidr and MACs are unique across all VMs; both are kept
// in the stored spec once chosen, so they survive restarts and updates. Claims run
// under the shared claims lock, so concurrent creates never get the same address.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { invalid, quote } from "../../../api/errors.ts";
import { checkEffectiveQos, effectiveQos } from "../../../api/validate/network.ts";
import {
  allocateIp,
  type Cidr,
  formatIp,
  hostProblem,
  parseCidr,
  parseIp,
} from "../../../api/ipv4.ts";
import { macAddress } from "../../../qemu/args.ts";
import type { Ref, RefStore } from "../../../store/refs.ts";
import type { VmStore } from "../../../store/vm_store.ts";
import type { NetworkStore } from "../../../store/network_store.ts";
import { NETWORK, VM } from "../../contracts.ts";
import { interfaceIndex } from "../projections.ts";

const field = (i: number) => `spec.network_interfaces[${i}]`;

/**
 * Fills in the IP and MAC of every interface and returns the references to record.
 * An interface left without an address keeps the one it had (same index, same network).
 */
export function claimInterfaces(
  vmId: string,
  spec: T.VmSpec,
  prev: T.VmSpec | undefined,
  networks: NetworkStore,
  refs: RefStore,
  vms: VmStore,
): { interfaces: T.NetworkInterface[]; refs: Ref[] } {
  const prevIds = (prev?.network_interfaces ?? []).map((n) => networks.find(n.network)?.meta.id);
  const ifaces = spec.network_interfaces ?? [];
  // MACs of every other VM: a MAC names a NIC on every segment it could meet.
  const macs = new Map<string, string>();
  for (const vm of vms.list()) {
    if (vm.meta.id === vmId) continue;
    for (const n of vm.spec.network_interfaces ?? []) macs.set(n.mac, vm.meta.name);
  }
  macs.set(macAddress(vmId, 0), "this VM's user-mode NIC");
  const out: T.NetworkInterface[] = [];
  const outRefs: Ref[] = [];
  ifaces.forEach((n, i) => {
    const net = networks.find(n.network);
    if (!net) throw invalid(`${field(i)}.network`, `network ${quote(n.network)} not found`);
    const cidr = parseCidr(net.spec.cidr) as Cidr;
    const used = ipsInUse(net.meta.id, vmId, refs, vms, networks);
    out.forEach((o, j) => {
      if (outRefs[j].id === net.meta.id) used.set(parseIp(o.ip)!, `this VM's interface ${j}`);
    });
    let ip = n.ip;
    if (!ip && prevIds[i] === net.meta.id) ip = prev!.network_interfaces[i].ip;
    if (ip) {
      const num = parseIp(ip)!;
      const problem = hostProblem(cidr, num);
      if (problem) {
        throw invalid(`${field(i)}.ip`, `${ip} ${problem} of network ${quote(net.meta.name)}`);
      }
      const holder = used.get(num);
      if (holder) {
        throw invalid(
          `${field(i)}.ip`,
          `${ip} is already used on network ${quote(net.meta.name)} by ${holder}`,
        );
      }
    } else {
      const free = allocateIp(cidr, new Set(used.keys()));
      if (free === undefined) {
        throw invalid(`${field(i)}.ip`, `network ${quote(net.meta.name)} has no free address left`);
      }
      ip = formatIp(free);
    }
    let mac = n.mac || prev?.network_interfaces?.[i]?.mac || "";
    if (n.mac && macs.has(n.mac)) {
      throw invalid(`${field(i)}.mac`, `${n.mac} is already used by ${macs.get(n.mac)}`);
    }
    for (let k = 0; !mac || macs.has(mac); k++) mac = macAddress(vmId, i + 1 + k * 100);
    macs.set(mac, `this VM's interface ${i}`);
    checkEffectiveQos(effectiveQos(net.spec.link_qos, n.link_qos), `${field(i)}.link_qos`);
    out.push({
      network: n.network,
      ip,
      mac,
      link_qos: n.link_qos ?? {},
      link_state: n.link_state ?? "",
      receive_link_qos: n.receive_link_qos ?? {},
    });
    outRefs.push({ field: `${field(i)}.network`, kind: NETWORK, id: net.meta.id });
  });
  return { interfaces: out, refs: outRefs };
}

/** IPs other VMs hold on a network, with who holds them. */
function ipsInUse(
  networkId: string,
  vmId: string,
  refs: RefStore,
  vms: VmStore,
  networks: NetworkStore,
): Map<number, string> {
  const used = new Map<number, string>();
  for (const u of refs.usersOf({ kind: NETWORK, id: networkId })) {
    if (u.kind !== VM || u.id === vmId) continue;
    const vm = vms.get(u.id);
    const i = interfaceIndex(u.field);
    const n = i === undefined ? undefined : vm?.spec.network_interfaces?.[i];
    if (!vm || !n || networks.find(n.network)?.meta.id !== networkId) continue;
    used.set(parseIp(n.ip)!, `VM ${quote(vm.meta.name)}`);
  }
  return used;
}
