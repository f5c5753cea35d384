// infrasim: the command-line client of infrasimd. One file per command group under
// commands/; specs are built by the code the provider shares (api/specs.ts).
// Start-up is paid on every call (and on every TAB): the gRPC client and the
// completion library are imported only by the commands that use them.
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { ApiError, Status } from "../api/errors.ts";
import type { InfrasimClient } from "../api/client.ts";
import { VERSION } from "../version.ts";
import type { Ctx } from "./context.ts";
import { flagFieldsOf, inFlagTerms, UsageError } from "./flags.ts";
import type { OutputFormat } from "./output.ts";
import { statusCommand } from "./commands/status.ts";
import { dashboardCommand } from "./commands/dashboard.ts";
import { vmCommands } from "./commands/vm/list.ts";
import { vmPowerCommands } from "./commands/vm/power.ts";
import { vmConsoleCommands } from "./commands/vm/console.ts";
import { imageCommands } from "./commands/image.ts";
import { volumeCommands } from "./commands/volume.ts";
import { snapshotCommands } from "./commands/snapshot.ts";
import { checkpointCommands } from "./commands/checkpoint.ts";
import { networkCommands } from "./commands/network.ts";
import { eventsCommand } from "./commands/events.ts";
import { vmCreateCommand } from "./commands/vm/create.ts";
import { vmSshCommands } from "./commands/vm/ssh.ts";
import { vmWaitCommand } from "./commands/vm/wait.ts";
import { addCompletion, addCompletionStandIn, wantsCompletion } from "./completion.ts";
import { commandPath, helpHint, TOP_EXAMPLES } from "./help.ts";
import { globalOptions, inheritGlobalOptions } from "./global_options.ts";

/** The program with every command; completion's commands only when argv asks for them. */
export async function buildProgram(ctx: Ctx, argv: string[]): Promise<Command> {
  const program = new Command("infrasim")
    .description("Run QEMU virtual machines through infrasimd")
    .version(VERSION, "-V, --version")
    .option(
      "--daemon-address <address>",
      "unix:///path, /path or host:port (default: $INFRASIM_DAEMON_ADDRESS, else " +
        "infrasimd.sock in $INFRASIM_DATA_DIR or ~/.infrasim)",
    )
    .option(
      "--token <token>",
      "the daemon's TCP token (env INFRASIM_TOKEN; default: read from the data dir)",
    )
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"])
        .default("table"),
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText("after", TOP_EXAMPLES);

  statusCommand(program, ctx);
  const vm = program.command("vm").description("manage virtual machines");
  vmCommands(vm, ctx);
  vmCreateCommand(vm, ctx);
  vmSshCommands(vm, ctx);
  vmWaitCommand(vm, ctx);
  vmPowerCommands(vm, ctx);
  vmConsoleCommands(vm, ctx);
  imageCommands(program.command("image").description("manage disk images"), ctx);
  volumeCommands(program.command("volume").description("manage volumes (a VM's disks)"), ctx);
  networkCommands(
    program.command("network").description("manage private networks and their link impairment"),
    ctx,
  );
  snapshotCommands(
    program.command("snapshot").description("snapshot VMs (with their memory) and roll them back"),
    ctx,
  );
  checkpointCommands(
    program.command("checkpoint").description(
      "checkpoint a set of VMs at one moment, and roll them all back together",
    ),
    ctx,
  );
  eventsCommand(program, ctx);
  dashboardCommand(program, ctx);
  // Last: completion completes the commands registered before it.
  if (wantsCompletion(argv)) await addCompletion(program, ctx, argv);
  else addCompletionStandIn(program);
  inheritGlobalOptions(program as Command);
  // A usage error prints the error and one line naming the command's own --help.
  const hint = (c: Command) => {
    c.showHelpAfterError(helpHint(c));
    c.commands.forEach((sub) => hint(sub as Command));
  };
  hint(program as Command);
  return program as Command;
}

export async function runCli(argv: string[]): Promise<number> {
  let client: InfrasimClient | undefined;
  let program!: Command;
  let running: Command | undefined;
  const opts = () => globalOptions(program, running);

  const ctx: Ctx = {
    client: async () => {
      if (client) return client;
      const { daemonTarget, defaultAddress, InfrasimClient } = await import("../api/client.ts");
      const { daemonAddress, token } = opts();
      const address = daemonAddress ?? defaultAddress();
      try {
        daemonTarget(address);
      } catch (e) {
        const from = daemonAddress === undefined && process.env.INFRASIM_DAEMON_ADDRESS
          ? "$INFRASIM_DAEMON_ADDRESS"
          : "--daemon-address";
        const msg = (e as Error).message.replace(/^daemon_address: /, "");
        throw new UsageError(`${from}: ${msg}`, "infrasim");
      }
      return (client = new InfrasimClient(address, { token }));
    },
    format: () => opts().output as OutputFormat,
    print: (s) => process.stdout.write(s.endsWith("\n") ? s : s + "\n"),
  };

  try {
    program = await buildProgram(ctx, argv);
    // The command a usage error belongs to: option parsers (--cpu two) throw before
    // any action runs, so follow the dispatch instead.
    const follow = (c: Command) => {
      c.hook("preSubcommand", (_, sub) => void (running = sub as Command));
      c.commands.forEach((sub) => follow(sub as Command));
    };
    follow(program);
    await program.parseAsync(argv, { from: "user" });
    // A command that ran another program (vm ssh) passes on its exit code.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const fields = flagFieldsOf(running);
    if (e instanceof UsageError) {
      const where = e.command ?? (running ? commandPath(running) : "infrasim");
      const lines = e.apiError ? inFlagTerms(e.apiError, fields) : [e.message];
      process.stderr.write(
        `${lines.map((l) => `error: ${l}\n`).join("")}(run '${where} --help' for usage)\n`,
      );
      return 2;
    }
    if (e instanceof ApiError) {
      const lines = inFlagTerms(e, fields).map((l) => `error: ${Status[e.code]}: ${l}\n`);
      process.stderr.write(lines.join(""));
      return 1;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
