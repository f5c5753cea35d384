// infrasim: the command-line client of infrasimd. One file per command group under
// commands/; specs are built by the code the provider shares (api/specs.ts).
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { ApiError, Status } from "../api/errors.ts";
import { defaultAddress, InfrasimClient, toGrpcTarget } from "../api/client.ts";
import { VERSION } from "../version.ts";
import type { Ctx } from "./context.ts";
import { inFlagTerms, UsageError } from "./flags.ts";
import type { OutputFormat } from "./output.ts";
import { statusCommand } from "./commands/status.ts";
import { vmCommands } from "./commands/vm.ts";
import { vmPowerCommands } from "./commands/vm_power.ts";
import { vmConsoleCommands } from "./commands/vm_console.ts";

export async function runCli(argv: string[]): Promise<number> {
  let client: InfrasimClient | undefined;
  const program = new Command("infrasim")
    .description("Run QEMU virtual machines through infrasimd")
    .version(VERSION, "-V, --version")
    .addOption(
      new Option(
        "--daemon-address <address>",
        "unix:///path or host:port (env INFRASIM_DAEMON_ADDRESS)",
      ).default(defaultAddress(), "the local unix socket"),
    )
    .option("--token <token>", "the daemon's TCP token (env INFRASIM_TOKEN; default: read from the data dir)")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"])
        .default("table"),
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)");

  const ctx: Ctx = {
    client: () => {
      if (client) return client;
      const { daemonAddress, token } = program.opts();
      try {
        toGrpcTarget(daemonAddress);
      } catch (e) {
        throw new UsageError(`--daemon-address: ${(e as Error).message.replace(/^daemon_address: /, "")}`);
      }
      return (client = new InfrasimClient(daemonAddress, { token }));
    },
    format: () => program.opts().output as OutputFormat,
    print: (s) => process.stdout.write(s.endsWith("\n") ? s : s + "\n"),
  };

  statusCommand(program, ctx);
  const vm = program.command("vm").description("manage virtual machines");
  vmCommands(vm, ctx);
  vmPowerCommands(vm, ctx);
  vmConsoleCommands(vm, ctx);

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n(run with --help for usage)\n`);
      return 2;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`error: ${Status[e.code]}: ${inFlagTerms(e)}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
