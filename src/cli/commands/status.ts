// `infrasim status`.
import type { Command } from "@commander-js/extra-typings";
import type { Ctx } from "../context.ts";
import { formatDaemonStatus, render } from "../output.ts";

export function statusCommand(program: Command, ctx: Ctx): void {
  program.command("status").description("show the daemon's version, QEMU and accelerators")
    .action(async () => {
      const st = await (await ctx.client()).getDaemonStatus();
      ctx.print(render(ctx.format(), st, () => formatDaemonStatus(st)));
    });
}
