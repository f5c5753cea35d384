// `infrasim vm list|get|create|delete|port`.
import type { Command } from "@commander-js/extra-typings";
import { defaultArch } from "../../api/arch.ts";
import { ApiError, Status } from "../../api/errors.ts";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { vmSpecFromInput } from "../../api/specs.ts";
import { VM_DEFAULTS } from "../../api/validate/vm.ts";
import type { Ctx } from "../context.ts";
import {
  absolute,
  collect,
  localUsage,
  parseDisk,
  parseIntArg,
  parseKeyValues,
  parsePorts,
  UsageError,
} from "../flags.ts";
import { formatVm, formatVmTable, render } from "../output.ts";
import { CREATE_EXAMPLES, DELETE_EXAMPLES } from "../help.ts";

export function vmCommands(vm: Command, ctx: Ctx): void {
  vm.command("list").alias("ls").description("list VMs")
    .option("-l, --selector <selector>", "label selector, e.g. env=dev,tier!=db")
    .action(async (o) => {
      const vms = await (await ctx.client()).listVms(o.selector ?? "");
      ctx.print(render(ctx.format(), vms, () => formatVmTable(vms)));
    });

  vm.command("get").description("show one VM").argument("<vm>", "id or name")
    .action(async (ref) => {
      const v = await (await ctx.client()).getVm(ref);
      ctx.print(render(ctx.format(), v, () => formatVm(v)));
    });

  vm.command("create").description("create a VM (stopped unless --start)")
    .option("--name <name>", "unique name, a DNS label (required)")
    .option("--arch <arch>", "aarch64 | x86_64", defaultArch())
    .option("--cpu <n>", "CPU cores", parseIntArg("--cpu"), VM_DEFAULTS.cpuCores)
    .option("--memory <mb>", "memory in MiB", parseIntArg("--memory"), VM_DEFAULTS.memoryMb)
    .option("--machine <type>", "QEMU machine type (default: virt / q35)")
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
      "forward 127.0.0.1:host to the guest port (repeatable)",
      collect,
    )
    .option("--label <key=value>", "label (repeatable)", collect)
    .option("--accelerator <name>", "hvf | kvm | tcg (default: best available)")
    .option("--no-network", "no network interface")
    .option("--start", "start the VM after creating it")
    .addHelpText("after", CREATE_EXAMPLES)
    .action(async (o) => {
      // Checked here, not by commander: it would report a missing --name before an
      // unknown option, so `--nmae x` would say --name is missing.
      if (!o.name) throw new UsageError("required option '--name <name>' not specified");
      if (!o.kernel && (o.initrd || o.cmdline)) {
        throw new UsageError("--initrd and --cmdline need --kernel");
      }
      if (!o.network && o.port?.length) {
        throw new UsageError("--port needs a network: drop --no-network to forward ports");
      }
      const disks = (o.disk ?? []).map(parseDisk);
      const bootDisk = o.kernel ? undefined : disks.shift()?.path;
      let spec!: T.VmSpec;
      localUsage(() => {
        spec = vmSpecFromInput({
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
          disks,
          network: o.network,
          ports: parsePorts(o.port),
          accelerator: o.accelerator,
          running: !!o.start,
        });
      });
      const v = await (await ctx.client()).createVm({
        meta: { name: o.name, labels: parseKeyValues("--label", o.label) },
        spec,
      });
      ctx.print(render(ctx.format(), v, () => formatVm(v)));
      if (o.start && v.status!.state === "ERROR") {
        throw new Error(`vm ${v.meta!.name} was created but did not start: ${v.status!.message}`);
      }
    });

  vm.command("delete").alias("rm").description("delete VMs (a running one needs --force)")
    .argument("<vm...>", "ids or names")
    .option("-f, --force", "delete running VMs too, killing their QEMU at once")
    .addHelpText("after", DELETE_EXAMPLES)
    .action(async (refs, o) => {
      const client = await ctx.client();
      for (const ref of refs) {
        const r = await client.deleteVm(ref, { force: !!o.force });
        ctx.print(render(ctx.format(), r, () => `deleted ${ref} (${r.id})`));
      }
    });

  vm.command("port").description("show forwarded ports, like `docker port`")
    .argument("<vm>", "id or name")
    .argument("[guest-port]", "only this guest port; prints just 127.0.0.1:HOST")
    .action(async (ref, guestPort) => {
      const v = await (await ctx.client()).getVm(ref);
      const fwds = v.status!.port_forwards;
      if (guestPort === undefined) {
        const table = () =>
          fwds.map((p) => `${p.guest_port}/${p.protocol} -> 127.0.0.1:${p.host_port}`).join("\n") ||
          "No port forwards.";
        ctx.print(render(ctx.format(), fwds, table));
        return;
      }
      const p = fwds.find((f) => String(f.guest_port) === guestPort);
      if (!p) throw new ApiError(Status.NOT_FOUND, `vm ${ref} forwards no guest port ${guestPort}`);
      ctx.print(render(ctx.format(), p, () => `127.0.0.1:${p.host_port}`));
    });
}
