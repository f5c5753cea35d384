// `infrasim vm logs|console`: the serial log and the interactive serial console.
import type { Command } from "@commander-js/extra-typings";
import type { Ctx } from "../../context.ts";
import { attachConsole } from "../../console.ts";
import { TerminalQueryFilter } from "../../terminal.ts";
import { CONSOLE_EXAMPLES } from "../../help.ts";

export function vmConsoleCommands(vm: Command, ctx: Ctx): void {
  vm.command("logs").description("print the serial console log")
    .argument("<vm>", "id or name")
    .option("-f, --follow", "keep printing new output")
    .action(async (ref, o) => {
      const client = await ctx.client();
      const filter = new TerminalQueryFilter();
      let bytes = 0;
      const s = client.serialLog(ref, !!o.follow, (c) => {
        bytes += c.length;
        process.stdout.write(filter.push(c));
      });
      process.once("SIGINT", () => s.cancel());
      await s.done;
      process.stdout.write(filter.flush());
      if (bytes === 0) {
        const v = await client.getVm(ref);
        const name = v.meta!.name;
        if (v.status!.state === "PENDING") {
          process.stderr.write(
            `vm "${name}" has never run, so it has no log yet; start it with: infrasim vm start ${name}\n`,
          );
        }
      }
    });

  vm.command("console").description("attach to the serial console (Ctrl-] detaches)")
    .argument("<vm>", "id or name")
    .addHelpText("after", CONSOLE_EXAMPLES)
    .action(async (ref) => {
      await attachConsole(await ctx.client(), ref);
    });
}
