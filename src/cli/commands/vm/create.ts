// `infrasim vm create`: from a kernel, a disk, a volume or an image (then the overlay
// volume is made for it, and removed again if the VM cannot be created).
import type { Command } from "@commander-js/extra-typings";
import { readFile } from "node:fs/promises";
import { defaultArch } from "../../../api/arch.ts";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { Violations } from "../../../api/errors.ts";
import { type PortInput, vmSpecFromInput } from "../../../api/specs.ts";
import { validateLabels, validateName } from "../../../api/validate/common.ts";
import { parseSizeGb } from "../../../api/validate/volume.ts";
import { VM_DEFAULTS } from "../../../api/validate/vm.ts";
import type { Ctx } from "../../context.ts";
import {
  absolute,
  collect,
  flagFields,
  localUsage,
  parseDisk,
  parseIntArg,
  parseKeyValues,
  parsePorts,
  renameFields,
  UsageError,
} from "../../flags.ts";
import { formatVm, render } from "../../output.ts";
import { CREATE_EXAMPLES } from "../../help.ts";
import { waitFor } from "./wait.ts";

async function readUserFile(flag: string, path: string, max = 1 << 20): Promise<string> {
  const text = await readFile(absolute(path), "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`${flag}: cannot read ${path}: ${e.code ?? e.message}`);
  });
  if (text.length > max) throw new UsageError(`${flag}: ${path} is over ${max >> 10} KiB`);
  return text;
}

/**
 * --network NAME[:IP] (repeatable) and --no-network share commander's "network" key;
 * the private networks are collected here, whatever order the two come in.
 */
function networkFlag() {
  const state = { nets: [] as string[], noUser: false };
  const add = (v: string, prev: unknown) => {
    if (prev === false) state.noUser = true;
    state.nets.push(v);
    return state.nets;
  };
  return { state, add };
}

/** The API fields `vm create` sets, by flag. */
const VM_CREATE_FIELDS = {
  "meta.name": "--name",
  "meta.labels": "--label",
  "spec.arch": "--arch",
  "spec.machine": "--machine",
  "spec.cpu_cores": "--cpu",
  "spec.memory_mb": "--memory",
  "spec.boot.kernel.kernel_path": "--kernel",
  "spec.boot.kernel.initrd_path": "--initrd",
  "spec.boot.kernel.cmdline": "--cmdline",
  "spec.boot.disk": ["--disk", "the first (boot) disk: "],
  "spec.boot.volume": "--boot-volume",
  "spec.volumes": "--volume",
  "spec.cloud_init.ssh_authorized_keys": "--ssh-key",
  "spec.cloud_init.hostname": "--hostname",
  "spec.cloud_init.user_data": "--user-data",
  "spec.wait_for.guest_port": "--wait-port",
  "spec.wait_for.serial": "--wait-serial",
  "spec.disks": "--disk",
  "spec.network.port_forwards": "--port",
  "spec.network.port_forwards[].host_port": ["--port", "host port "],
  "spec.network.port_forwards[].guest_port": ["--port", "guest port "],
  "spec.accelerator": "--accelerator",
  "spec.display": "--display",
  "spec.network_interfaces": "--network",
  timeout_seconds: "--timeout",
} as const;

export function vmCreateCommand(vm: Command, ctx: Ctx): void {
  const net = networkFlag();
  flagFields(vm.command("create"), VM_CREATE_FIELDS)
    .description("create a VM (stopped unless --start or --wait)")
    .option("--name <name>", "unique name, a DNS label (required)")
    .option("--arch <arch>", "aarch64 | x86_64", defaultArch())
    .option("--cpu <n>", "CPU cores", parseIntArg("--cpu"), VM_DEFAULTS.cpuCores)
    .option("--memory <mb>", "memory in MiB", parseIntArg("--memory"), VM_DEFAULTS.memoryMb)
    .option("--machine <type>", "QEMU machine type (default: virt / q35)")
    .option("--image <image>", "boot a copy-on-write volume <name>-root over this image")
    .option("--disk-size <size>", "with --image: the volume's size, e.g. 8G (default: the image's)")
    .option("--boot-volume <volume>", "boot this volume through UEFI")
    .option("--volume <volume[:ro]>", "attach a data volume (repeatable)", collect)
    .option(
      "--ssh-key <file>",
      "authorize this public key (repeatable; default: the daemon's key)",
      collect,
    )
    .option("--user-data <file>", "cloud-init user-data (a #cloud-config, a script, ...)")
    .option("--hostname <name>", "the guest's host name (default: the VM name)")
    .option("--kernel <path>", "kernel for direct boot (its arch must match --arch)")
    .option("--initrd <path>", "initrd for direct boot")
    .option("--cmdline <args>", "kernel command line")
    .option(
      "--disk <path[:ro]>",
      "disk image (repeatable); without --kernel the first one is booted through UEFI",
      collect,
    )
    .option(
      "--port <[host:]guest>",
      "forward 127.0.0.1:host to the guest port (repeatable; --image adds 22)",
      collect,
    )
    .option("--label <key=value>", "label (repeatable)", collect)
    .option("--accelerator <name>", "hvf | kvm | tcg (default: best available)")
    .option(
      "--display <display>",
      "none (the serial console only) | vnc (a screen, served on a unix socket in the run dir)",
    )
    .option(
      "--network <network[:ip]>",
      "a NIC on this private network, at this IP or an allocated one (repeatable)",
      net.add,
    )
    .option("--no-network", "no user-mode (NAT) interface, so no --port either")
    .option("--start", "start the VM after creating it")
    .option("--wait", "start it and wait until it is ready (with --image: SSH answers)")
    .option(
      "--wait-port <port>",
      "ready when this forwarded guest port answers",
      parseIntArg("--wait-port"),
    )
    .option("--wait-serial <regex>", "ready when the serial console shows this")
    .option("--timeout <seconds>", "how long --wait waits", parseIntArg("--timeout"), 300)
    .addHelpText("after", CREATE_EXAMPLES)
    .action(async (o) => {
      // Checked here, not by commander: it would report a missing --name before an
      // unknown option, so `--nmae x` would say --name is missing.
      if (!o.name) throw new UsageError("required option '--name <name>' not specified");
      if (!o.kernel && (o.initrd || o.cmdline)) {
        throw new UsageError("--initrd and --cmdline need --kernel");
      }
      const userNet = o.network !== false && !net.state.noUser;
      if (!userNet && o.port?.length) {
        throw new UsageError("--port needs a network: drop --no-network to forward ports");
      }
      const boots = [o.kernel && "--kernel", o.image && "--image", o.bootVolume && "--boot-volume"]
        .filter(Boolean);
      if (boots.length > 1) throw new UsageError(`${boots.join(" and ")}: give one boot source`);
      if (o.diskSize && !o.image) throw new UsageError("--disk-size needs --image");
      let sizeGb = 0;
      localUsage(() => void (sizeGb = o.diskSize ? parseSizeGb(o.diskSize, "--disk-size") : 0));
      const disks = (o.disk ?? []).map(parseDisk);
      const bootDisk = o.kernel || o.image || o.bootVolume ? undefined : disks.shift()?.path;
      const keys = await Promise.all((o.sshKey ?? []).map((f) => readUserFile("--ssh-key", f)));
      const userData = o.userData ? await readUserFile("--user-data", o.userData) : undefined;
      const wantsCloudInit = !!(o.image || keys.length || userData || o.hostname);
      const ports: PortInput[] = parsePorts(o.port);
      if (o.image && userNet && !ports.some((p) => p.guestPort === 22)) {
        ports.push({ guestPort: 22, protocol: "tcp" });
      }
      const volumeName = `${o.name}-root`;
      const waitPort = o.waitPort ?? (o.image && userNet ? 22 : undefined);
      const labels = parseKeyValues("--label", o.label);
      let spec!: T.VmSpec;
      // The name, the labels and the spec checked together: every bad flag is said at once.
      localUsage(() => {
        const vs = new Violations();
        vs.check(() => validateName(o.name, "meta.name"), "");
        vs.check(() => validateLabels(labels, "meta.labels"), undefined);
        spec = vs.check(() =>
          vmSpecFromInput({
            arch: o.arch,
            machine: o.machine,
            cpuCores: o.cpu,
            memoryMb: o.memory,
            kernel: o.kernel
              ? {
                path: absolute(o.kernel),
                initrd: o.initrd ? absolute(o.initrd) : "",
                cmdline: o.cmdline ?? "",
              }
              : undefined,
            bootDisk,
            bootVolume: o.image ? volumeName : o.bootVolume,
            volumes: (o.volume ?? []).map((v) => ({
              volume: v.replace(/:ro$/, ""),
              readOnly: v.endsWith(":ro"),
            })),
            disks,
            network: userNet,
            interfaces: net.state.nets.map((n) => {
              const i = n.indexOf(":");
              return i < 0 ? { network: n } : { network: n.slice(0, i), ip: n.slice(i + 1) };
            }),
            ports,
            accelerator: o.accelerator,
            display: o.display,
            running: !!(o.start || o.wait),
            cloudInit: wantsCloudInit
              ? {
                ssh_authorized_keys: keys.flatMap((k) =>
                  k.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
                ),
                user_data: userData ?? "",
                hostname: o.hostname ?? "",
              }
              : undefined,
            waitFor: waitPort || o.waitSerial
              ? { guestPort: waitPort, serial: o.waitSerial }
              : undefined,
          }), spec);
        vs.done();
      });
      const client = await ctx.client();
      if (o.image) {
        await client.createVolume({
          meta: { name: volumeName, labels: { "infrasim.dev/vm": o.name } },
          spec: { image: o.image, size_gb: sizeGb },
        }).catch((e) => {
          // Said in this command's flags: the volume is made for --image and --disk-size.
          throw renameFields(e, { "spec.size_gb": "--disk-size", "spec.image": "--image" });
        });
      }
      let v: T.Vm;
      try {
        v = await client.createVm({
          meta: { name: o.name, labels },
          spec,
        });
      } catch (e) {
        // Nothing half-made: the volume made for this VM goes with it.
        if (o.image) await client.deleteVolume(volumeName).catch(() => {});
        throw e;
      }
      if ((o.start || o.wait) && v.status!.state === "ERROR") {
        ctx.print(render(ctx.format(), v, () => formatVm(v)));
        throw new Error(`vm ${v.meta!.name} was created but did not start: ${v.status!.message}`);
      }
      if (o.wait && spec.wait_for) v = await waitFor(client, o.name, o.timeout);
      ctx.print(render(ctx.format(), v, () => formatVm(v)));
    });
}
