// infrasim: the command-line client of infrasimd.
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { ApiError, Status } from "../api/errors.ts";
import { type DeepPartial, defaultAddress, InfrasimClient } from "../api/client.ts";
import type * as T from "../api/gen/types.ts";
import { VERSION } from "../version.ts";
import { hostArch } from "../qemu/host.ts";
import {
  formatDaemonStatus,
  formatVm,
  formatVmTable,
  type OutputFormat,
  render,
} from "./output.ts";
import { attachConsole } from "./console.ts";

/** Thrown for bad command-line input: exit code 2. */
class UsageError extends Error {}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function parseIntArg(flag: string) {
  return (v: string) => {
    if (!/^-?\d+$/.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not an integer`);
    return Number(v);
  };
}

function parseKeyValues(flag: string, items: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf("=");
    if (i <= 0) throw new UsageError(`${flag}: ${JSON.stringify(item)} is not key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** "8080:80", "0:80", "80" (host port allocated), optionally "/udp". */
function parsePorts(items: string[] = []): DeepPartial<T.PortForward>[] {
  return items.map((item) => {
    const m = item.match(/^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/);
    if (!m) throw new UsageError(`--port: ${JSON.stringify(item)} is not [HOST:]GUEST[/tcp|udp]`);
    return { host_port: Number(m[1] ?? 0), guest_port: Number(m[2]), protocol: m[3] ?? "tcp" };
  });
}

/** "path" or "path:ro". */
function parseDisk(item: string): T.DiskSpec {
  const ro = item.endsWith(":ro");
  return { path: ro ? item.slice(0, -3) : item, format: "", read_only: ro };
}

export async function runCli(argv: string[]): Promise<number> {
  let client: InfrasimClient | undefined;
  const getClient = () => (client ??= new InfrasimClient(program.opts().daemonAddress));
  const fmt = () => program.opts().output as OutputFormat;
  const print = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");

  const program = new Command("infrasim")
    .description("Run QEMU virtual machines through infrasimd")
    .version(VERSION, "-V, --version")
    .addOption(
      new Option(
        "--daemon-address <address>",
        "unix:///path or host:port (env INFRASIM_DAEMON_ADDRESS)",
      )
        .default(defaultAddress(), "the local unix socket"),
    )
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"])
        .default(
          "table",
        ),
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();

  program.command("status").description("show the daemon's version, QEMU and accelerators")
    .action(async () => {
      const st = await getClient().daemonStatus();
      print(render(fmt(), st, () => formatDaemonStatus(st)));
    });

  const vm = program.command("vm").description("manage virtual machines");

  vm.command("list").alias("ls").description("list VMs")
    .option("-l, --selector <selector>", "label selector, e.g. env=dev,tier!=db")
    .action(async (o) => {
      const vms = await getClient().listVms(o.selector ?? "");
      print(render(fmt(), vms, () => formatVmTable(vms)));
    });

  vm.command("get").description("show one VM").argument("<vm>", "id or name")
    .action(async (ref) => {
      const v = await getClient().getVm(ref);
      print(render(fmt(), v, () => formatVm(v)));
    });

  vm.command("create").description("create a VM (stopped unless --start)")
    .requiredOption("--name <name>", "unique name (DNS label)")
    .option("--arch <arch>", "aarch64 | x86_64", hostArch())
    .option("--cpu <n>", "CPU cores", parseIntArg("--cpu"), 1)
    .option("--memory <mb>", "memory in MiB", parseIntArg("--memory"), 512)
    .option("--machine <type>", "QEMU machine type (default: virt / q35)")
    .option("--kernel <path>", "kernel for direct boot")
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
    .action(async (o) => {
      if (!o.kernel && (o.initrd || o.cmdline)) {
        throw new UsageError("--initrd and --cmdline need --kernel");
      }
      const disks = (o.disk ?? []).map(parseDisk);
      const boot: DeepPartial<T.BootSpec> = o.kernel
        ? {
          kernel: { kernel_path: o.kernel, initrd_path: o.initrd ?? "", cmdline: o.cmdline ?? "" },
        }
        : disks.length > 0
        ? { disk: { path: disks.shift()!.path } }
        : {};
      const v = await getClient().createVm({
        meta: { name: o.name, labels: parseKeyValues("--label", o.label) },
        spec: {
          arch: o.arch,
          machine: o.machine ?? "",
          cpu_cores: o.cpu,
          memory_mb: o.memory,
          boot,
          disks,
          network: { mode: o.network ? "user" : "none", port_forwards: parsePorts(o.port) },
          accelerator: o.accelerator ?? "",
          power_state: o.start ? "POWER_ON" : "POWER_OFF",
        },
      });
      print(render(fmt(), v, () => formatVm(v)));
      if (o.start && v.status!.state === "ERROR") {
        throw new Error(`vm ${v.meta!.name} was created but did not start: ${v.status!.message}`);
      }
    });

  vm.command("start").description("start VMs").argument("<vm...>", "ids or names")
    .action(async (refs) => {
      for (const ref of refs) {
        const v = await getClient().startVm(ref);
        print(render(fmt(), v, () => `${v.meta!.name}: ${v.status!.state}`));
      }
    });

  for (const name of ["stop", "restart"] as const) {
    vm.command(name)
      .description(
        name === "stop"
          ? "stop VMs: ACPI power button, then quit after --timeout"
          : "restart VMs (stop, then start with the current spec)",
      )
      .argument("<vm...>", "ids or names")
      .option("-f, --force", "stop at once instead of asking the guest")
      .option(
        "-t, --timeout <seconds>",
        "graceful wait before forcing",
        parseIntArg("--timeout"),
        0,
      )
      .action(async (refs, o) => {
        for (const ref of refs) {
          const req = { ref, force: !!o.force, timeout_seconds: o.timeout };
          const v = name === "stop"
            ? await getClient().stopVm(req)
            : await getClient().restartVm(req);
          print(render(fmt(), v, () => `${v.meta!.name}: ${v.status!.state}`));
        }
      });
  }

  vm.command("delete").alias("rm").description("delete VMs (running ones are stopped at once)")
    .argument("<vm...>", "ids or names")
    .action(async (refs) => {
      for (const ref of refs) {
        const r = await getClient().deleteVm(ref);
        print(render(fmt(), r, () => `deleted ${ref} (${r.id})`));
      }
    });

  vm.command("port").description("show forwarded ports, like `docker port`")
    .argument("<vm>", "id or name")
    .argument("[guest-port]", "only this guest port; prints just 127.0.0.1:HOST")
    .action(async (ref, guestPort) => {
      const v = await getClient().getVm(ref);
      const fwds = v.status!.port_forwards;
      if (guestPort === undefined) {
        print(
          render(
            fmt(),
            fwds,
            () =>
              fwds.map((p) => `${p.guest_port}/${p.protocol} -> 127.0.0.1:${p.host_port}`).join(
                "\n",
              ) ||
              "No port forwards.",
          ),
        );
        return;
      }
      const p = fwds.find((f) => String(f.guest_port) === guestPort);
      if (!p) throw new ApiError(Status.NOT_FOUND, `vm ${ref} forwards no guest port ${guestPort}`);
      print(render(fmt(), p, () => `127.0.0.1:${p.host_port}`));
    });

  vm.command("logs").description("print the serial console log")
    .argument("<vm>", "id or name")
    .option("-f, --follow", "keep printing new output")
    .action(async (ref, o) => {
      const s = getClient().serialLog(ref, !!o.follow, (c) => process.stdout.write(c));
      process.once("SIGINT", () => s.cancel());
      await s.done;
    });

  vm.command("console").description("attach to the serial console (Ctrl-] detaches)")
    .argument("<vm>", "id or name")
    .action(async (ref) => {
      await attachConsole(getClient(), ref);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`error: ${Status[e.code]}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
