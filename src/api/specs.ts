// Specs from what a user typed, shared by the CLI and the provider: the defaults are
// defined once (here and in validate/), and every number a user gave is range-checked
// before it is encoded (protobuf int32 would wrap 4294967297 to 1). Errors name the
// API field; each client maps it to its own flag or attribute.
import type * as T from "./gen/infrasim.v1.ts";
import { defaultArch } from "./arch.ts";
import { Violations } from "./errors.ts";
import { intIn, LIMITS } from "./validate/common.ts";
import { normalizeVmSpec, VM_DEFAULTS } from "./validate/vm.ts";

export interface PortInput {
  guestPort: number;
  /** 0 or undefined: allocated by the daemon. */
  hostPort?: number;
  protocol?: string;
}

export interface DiskInput {
  path: string;
  format?: string;
  readOnly?: boolean;
}

/** A VM as the CLI's flags or a Terraform configuration describe it. */
export interface VmInput {
  arch?: string;
  machine?: string;
  cpuCores?: number;
  memoryMb?: number;
  kernel?: { path: string; initrd?: string; cmdline?: string };
  bootDisk?: string;
  disks?: DiskInput[];
  /** false: no user-mode (NAT) interface; interfaces on private networks still attach. */
  network?: boolean;
  ports?: PortInput[];
  accelerator?: string;
  /** "none" or "vnc"; undefined: none. */
  display?: string;
  running?: boolean;
  bootVolume?: string;
  volumes?: Array<{ volume: string; readOnly?: boolean }>;
  cloudInit?: Partial<T.CloudInit>;
  waitFor?: { guestPort?: number; serial?: string };
  interfaces?: Array<
    {
      network: string;
      ip?: string;
      mac?: string;
      linkQos?: T.LinkQos;
      linkState?: string;
      receiveLinkQos?: T.LinkQos;
    }
  >;
}

/**
 * A complete, validated VmSpec; throws one ApiError carrying every violation, each
 * naming its API field. Numbers are range-checked before they are encoded.
 */
export function vmSpecFromInput(input: VmInput): T.VmSpec {
  const vs = new Violations();
  const given = (v: number | undefined, limits: readonly [number, number], field: string) =>
    v === undefined ? undefined : vs.check(() => intIn(v, limits, field), v);
  const cpu = given(input.cpuCores, LIMITS.cpuCores, "spec.cpu_cores");
  const memory = given(input.memoryMb, LIMITS.memoryMb, "spec.memory_mb");
  const ports = (input.ports ?? []).map((p, i): T.PortForward => {
    const f = `spec.network.port_forwards[${i}]`;
    return {
      protocol: p.protocol || "tcp",
      host_port: p.hostPort
        ? vs.check(() => intIn(p.hostPort!, LIMITS.hostPort, `${f}.host_port`), p.hostPort)
        : 0,
      guest_port: vs.check(() => intIn(p.guestPort, LIMITS.port, `${f}.guest_port`), p.guestPort),
    };
  });
  const boot: T.BootSpec = input.kernel
    ? {
      kernel: {
        kernel_path: input.kernel.path,
        initrd_path: input.kernel.initrd ?? "",
        cmdline: input.kernel.cmdline ?? "",
      },
    }
    : input.bootDisk
    ? { disk: { path: input.bootDisk, format: "", firmware_path: "" } }
    : input.bootVolume
    ? { volume: { volume: input.bootVolume, firmware_path: "" } }
    : {};
  const ci = input.cloudInit;
  const waitPort = input.waitFor?.guestPort;
  const checkedWait = waitPort
    ? vs.check(() => intIn(waitPort, LIMITS.port, "spec.wait_for.guest_port"), waitPort)
    : 0;
  const spec = vs.check(() =>
    normalizeVmSpec({
      arch: input.arch || defaultArch(),
      machine: input.machine ?? "",
      cpu_cores: cpu ?? VM_DEFAULTS.cpuCores,
      memory_mb: memory ?? VM_DEFAULTS.memoryMb,
      boot,
      disks: (input.disks ?? []).map((d) => ({
        path: d.path,
        format: d.format ?? "",
        read_only: !!d.readOnly,
      })),
      network: { mode: input.network === false ? "none" : "user", port_forwards: ports },
      accelerator: input.accelerator ?? "",
      ...(input.display ? { display: input.display } : {}),
      power_state: input.running ? "POWER_ON" : "POWER_OFF",
      volumes: (input.volumes ?? []).map((v) => ({ volume: v.volume, read_only: !!v.readOnly })),
      cloud_init: ci
        ? {
          user_data: ci.user_data ?? "",
          meta_data: ci.meta_data ?? "",
          network_config: ci.network_config ?? "",
          hostname: ci.hostname ?? "",
          ssh_authorized_keys: ci.ssh_authorized_keys ?? [],
          user: ci.user ?? "",
        }
        : null,
      wait_for: input.waitFor
        ? { guest_port: checkedWait, serial: input.waitFor.serial ?? "" }
        : null,
      network_interfaces: (input.interfaces ?? []).map((n) => ({
        network: n.network,
        ip: n.ip ?? "",
        mac: n.mac ?? "",
        link_qos: n.linkQos ?? {},
        link_state: n.linkState ?? "",
        receive_link_qos: n.receiveLinkQos ?? {},
      })),
    }), undefined);
  vs.done(); // the same violation found twice (here and by the spec's checks) is said once
  return spec!;
}
