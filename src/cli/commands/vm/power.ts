// `infrasim vm start|stop|restart`.
import type { Command } from "@commander-js/extra-typings";
import { intIn, LIMITS } from "../../../api/validate/common.ts";
import type { Ctx } from "../../context.ts";
import { flagFields, localUsage, parseIntArg, renameFields, UsageError } from "../../flags.ts";
import { render } from "../../output.ts";

export function vmPowerCommands(vm: Command, ctx: Ctx): void {
  flagFields(vm.command("start"), { from_snapshot: "--from-snapshot" })
    .description("start VMs")
    .argument("<vm...>", "ids or names")
    .option(
      "--from-snapshot <snapshot>",
      "resume the VM from one of its snapshots with memory instead of booting it",
    )
    .action(async (refs, o) => {
      if (o.fromSnapshot && refs.length > 1) {
        throw new UsageError("--from-snapshot starts one VM: name only one");
      }
      const client = await ctx.client();
      for (const ref of refs) {
        const v = await client.startVm({ ref, from_snapshot: o.fromSnapshot ?? "" }).catch((e) => {
          throw renameFields(e, { from_snapshot: "--from-snapshot" });
        });
        ctx.print(render(ctx.format(), v, () => `${v.meta!.name}: ${v.status!.state}`));
      }
    });

  for (const name of ["stop", "restart"] as const) {
    flagFields(vm.command(name), { timeout_seconds: "--timeout" })
      .description(
        name === "stop"
          ? "stop VMs: ACPI power button, then quit after --timeout"
          : "restart VMs (stop, then start with the current spec)",
      )
      .argument("<vm...>", "ids or names")
      .option("-f, --force", "stop at once instead of asking the guest (SIGKILL after 2 s)")
      .option(
        "-t, --timeout <seconds>",
        "graceful wait before forcing (default: the daemon's, 30 s)",
        parseIntArg("--timeout"),
        0,
      )
      .action(async (refs, o) => {
        localUsage(() => intIn(o.timeout, LIMITS.timeoutSeconds, "timeout_seconds"));
        const client = await ctx.client();
        // The call outlasts the graceful wait (the daemon's may be up to an hour).
        const call = { timeoutSeconds: (o.timeout || 3600) + 60 };
        for (const ref of refs) {
          const req = { ref, force: !!o.force, timeout_seconds: o.timeout };
          const v = name === "stop"
            ? await client.stopVm(req, call)
            : await client.restartVm(req, call);
          ctx.print(render(ctx.format(), v, () => `${v.meta!.name}: ${v.status!.state}`));
        }
      });
  }
}
