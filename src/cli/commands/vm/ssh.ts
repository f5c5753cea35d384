// `infrasim vm ssh|wait`: log in with the system ssh (the guest's host key checked
// strictly), and wait until a VM is ready.
import type { Command } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { InfrasimClient } from "../../api/client.ts";
import { failedPrecondition } from "../../api/errors.ts";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { sshArgs } from "../../ssh/args.ts";
import type { Ctx } from "../context.ts";
import { parseIntArg } from "../flags.ts";
import { formatVm, render } from "../output.ts";

/** WaitVm with a client deadline a little past the daemon's, so its message arrives. */
export function waitFor(
  client: InfrasimClient,
  ref: string,
  timeoutSeconds: number,
  wait?: T.WaitFor,
): Promise<T.Vm> {
  return client.waitVm(
    { ref, timeout_seconds: timeoutSeconds, wait_for: wait },
    { timeoutSeconds: timeoutSeconds + 10 },
  );
}

export function vmSshCommands(vm: Command, ctx: Ctx): void {
  vm.command("ssh").description("log in to a VM with ssh (or run a command after --)")
    .argument("<vm>", "id or name")
    .argument("[command...]", "the command to run instead of a shell")
    .option("--user <name>", "log in as this user (default: the VM's cloud_init user)")
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim vm ssh web\n  infrasim vm ssh web -- uname -a\n\n" +
        "The guest's host key was made by the daemon and is checked strictly.",
    )
    .action(async (ref, command, o) => {
      const v = await (await ctx.client()).getVm(ref);
      const name = v.meta!.name;
      const a = v.status!.ssh;
      if (v.status!.state !== "RUNNING") {
        throw failedPrecondition(
          `vm ${name} is ${
            v.status!.state.toLowerCase()
          }; start it first (infrasim vm start ${name})`,
        );
      }
      if (!a?.host_key) {
        throw failedPrecondition(
          `vm ${name} has no cloud_init, so the daemon holds no host key for it`,
        );
      }
      if (!a.host_port) {
        throw failedPrecondition(`vm ${name} forwards no guest port 22 (add --port 22)`);
      }
      // Ctrl-C belongs to ssh (and the remote command) while it runs.
      const ignore = () => {};
      process.on("SIGINT", ignore);
      try {
        process.exitCode = await new Promise<number>((resolve, reject) => {
          const child = spawn("ssh", sshArgs(a, o.user ?? a.user, command, !process.stdin.isTTY), {
            stdio: "inherit",
          });
          child.on("error", (e) => reject(new Error(`cannot run ssh: ${e.message}`)));
          child.on("exit", (c, sig) => resolve(c ?? 128 + (sig ? constants.signals[sig] : 1)));
        });
      } finally {
        process.off("SIGINT", ignore);
      }
    });

  vm.command("wait").description("wait until a running VM is ready (its wait_for, or as given)")
    .argument("<vm>", "id or name")
    .option("--port <port>", "a forwarded guest port that answers", parseIntArg("--port"))
    .option("--serial <regex>", "a pattern on the serial console")
    .option("--timeout <seconds>", "give up after this long", parseIntArg("--timeout"), 300)
    .action(async (ref, o) => {
      const given = o.port || o.serial
        ? { guest_port: o.port ?? 0, serial: o.serial ?? "" }
        : undefined;
      const v = await waitFor(await ctx.client(), ref, o.timeout, given);
      ctx.print(render(ctx.format(), v, () => formatVm(v)));
    });
}
