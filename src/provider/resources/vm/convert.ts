// infrasim_vm conversions: Terraform object -> API spec (through the spec builder the
// CLI shares, so defaults and range checks are the same), and API VM -> object.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { type VmInput, vmSpecFromInput } from "../../../api/specs.ts";
import { type CtyValue, isUnknown, toNumber } from "../../framework/cty.ts";
import { listOf, str } from "../../framework/values.ts";
import type { Obj } from "../../framework/resource.ts";
import { objectFromQos, qosFromObject } from "../link_qos.ts";

const num = (v: CtyValue, path: string): number | undefined => {
  const n = toNumber(v, path);
  return typeof n === "number" ? n : undefined;
};

/** The spec builder's input for a (known) configuration or plan object. */
function inputFromObject(o: Obj): VmInput {
  const kernel = str(o.kernel);
  const ci = listOf(o.cloud_init)[0];
  const w = listOf(o.wait_for)[0];
  return {
    arch: str(o.arch) || undefined,
    machine: str(o.machine),
    cpuCores: num(o.cpu_cores, "cpu_cores"),
    memoryMb: num(o.memory_mb, "memory_mb"),
    display: str(o.display) || undefined,
    kernel: kernel ? { path: kernel, initrd: str(o.initrd), cmdline: str(o.cmdline) } : undefined,
    bootDisk: str(o.boot_disk) || undefined,
    disks: listOf(o.disk).map((d) => ({
      path: str(d.path),
      format: str(d.format),
      readOnly: d.read_only === true,
    })),
    ports: listOf(o.port_forward).map((p) => ({
      guestPort: num(p.guest_port, "guest_port") ?? 0,
      hostPort: isUnknown(p.host_port) ? 0 : num(p.host_port, "host_port") ?? 0,
      protocol: str(p.protocol) || "tcp",
    })),
    running: o.running !== false,
    bootVolume: str(o.boot_volume) || undefined,
    volumes: listOf(o.volume).map((v) => ({
      volume: str(v.volume_id),
      readOnly: v.read_only === true,
    })),
    cloudInit: ci
      ? {
        user_data: str(ci.user_data),
        meta_data: str(ci.meta_data),
        network_config: str(ci.network_config),
        hostname: str(ci.hostname),
        ssh_authorized_keys: Array.isArray(ci.ssh_authorized_keys)
          ? ci.ssh_authorized_keys.map((k) => str(k))
          : [],
        user: str(ci.user),
      }
      : undefined,
    waitFor: w ? { guestPort: num(w.guest_port, "guest_port"), serial: str(w.serial) } : undefined,
    interfaces: listOf(o.network_interface).map((n) => ({
      network: str(n.network_id),
      ip: isUnknown(n.ip) ? "" : str(n.ip),
      mac: isUnknown(n.mac) ? "" : str(n.mac),
      linkQos: qosFromObject(n.link_qos),
      linkState: isUnknown(n.link_state) ? "" : str(n.link_state),
      receiveLinkQos: qosFromObject(n.receive_link_qos),
    })),
  };
}

/** The complete API spec for a known object; throws ApiError naming the API field. */
export function specFromObject(o: Obj): T.VmSpec {
  return vmSpecFromInput(inputFromObject(o));
}

/** Empty strings and maps from the API read back as the prior's null or empty form. */
function same<V extends CtyValue>(
  apiValue: V,
  prior: CtyValue,
  empty: (v: V) => boolean,
): CtyValue {
  return empty(apiValue)
    ? (prior !== undefined && prior !== null && empty(prior as V) ? prior : null)
    : apiValue;
}

/** The Terraform object for an API VM; prior keeps representation choices stable. */
export function objectFromVm(vm: T.Vm, prior: Obj | null): Obj {
  const m = vm.meta!, s = vm.spec!, st = vm.status!;
  const p = prior ?? {};
  const emptyStr = (v: CtyValue) => v === "";
  const k = s.boot?.kernel;
  const priorDisks = listOf(p.disk);
  return {
    id: m.id,
    name: m.name,
    arch: s.arch,
    machine: s.machine,
    cpu_cores: s.cpu_cores,
    memory_mb: s.memory_mb,
    display: s.display || "none",
    kernel: k ? same(k.kernel_path, p.kernel, emptyStr) : null,
    initrd: k ? same(k.initrd_path, p.initrd, emptyStr) : null,
    cmdline: k ? same(k.cmdline, p.cmdline, emptyStr) : null,
    boot_disk: s.boot?.disk ? s.boot.disk.path : null,
    labels: same(m.labels as Obj, p.labels, (v) => Object.keys(v as Obj).length === 0),
    running: st.state === "RUNNING" || st.state === "STARTING",
    accelerator: st.accelerator || null,
    state: st.state,
    serial_log: st.serial_log_path,
    vnc_socket: st.vnc_socket_path || null,
    created_at: m.created_at,
    disk: s.disks.map((d, i) => ({
      path: d.path,
      format: same(d.format, priorDisks[i]?.format, emptyStr),
      read_only: d.read_only,
    })),
    port_forward: s.network!.port_forwards.map((f) => {
      const got = st.port_forwards.find((a) =>
        a.protocol === f.protocol && a.guest_port === f.guest_port
      );
      return { guest_port: f.guest_port, host_port: got?.host_port ?? null, protocol: f.protocol };
    }),
    boot_volume: s.boot?.volume ? s.boot.volume.volume : null,
    volume: (s.volumes ?? []).map((v) => ({ volume_id: v.volume, read_only: v.read_only })),
    cloud_init: s.cloud_init ? [cloudInitObject(s.cloud_init, listOf(p.cloud_init)[0])] : [],
    wait_for: s.wait_for
      ? [{
        guest_port: s.wait_for.guest_port || null,
        serial: same(s.wait_for.serial, listOf(p.wait_for)[0]?.serial, emptyStr),
      }]
      : [],
    ssh_host_key: (s.cloud_init && st.ssh?.host_key) || null,
    network_interface: (s.network_interfaces ?? []).map((n, i) => ({
      network_id: n.network,
      ip: n.ip,
      mac: n.mac,
      link_qos: objectFromQos(n.link_qos, listOf(p.network_interface)[i]?.link_qos ?? []),
      link_state: same(n.link_state, listOf(p.network_interface)[i]?.link_state, emptyStr),
      receive_link_qos: objectFromQos(
        n.receive_link_qos,
        listOf(p.network_interface)[i]?.receive_link_qos ?? [],
      ),
    })),
    timeouts: p.timeouts ?? null,
  };
}

/** cloud_init as stored (the daemon keeps keys and names as given); empty forms as the prior's. */
function cloudInitObject(ci: T.CloudInit, prior: Obj | undefined): Obj {
  const emptyStr = (v: CtyValue) => v === "";
  const emptyList = (v: CtyValue) => Array.isArray(v) && v.length === 0;
  return {
    user_data: same(ci.user_data, prior?.user_data ?? null, emptyStr),
    meta_data: same(ci.meta_data, prior?.meta_data ?? null, emptyStr),
    network_config: same(ci.network_config, prior?.network_config ?? null, emptyStr),
    hostname: same(ci.hostname, prior?.hostname ?? null, emptyStr),
    ssh_authorized_keys: same(
      ci.ssh_authorized_keys,
      prior?.ssh_authorized_keys ?? null,
      emptyList,
    ),
    user: ci.user,
  };
}
