// `infrasim vm ssh`: log in with the system ssh, the guest's host key checked strictly.
import type { Command } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { closeSync, openSync, statSync } from "node:fs";
import { constants } from "node:os";
import { failedPrecondition, quote } from "../../../api/errors.ts";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { sshArgs, sshOptionProblem } from "../../../ssh/args.ts";
import type { Ctx } from "../../context.ts";
import { absolute, collect, UsageError } from "../../flags.ts";
import { follow, type Following } from "../../watch.ts";

/** -i: a file that exists and can be read, as an absolute path (ssh runs from the same cwd). */
function identityFile(path: string): string {
  const file = absolute(path);
  try {
    if (!statSync(file).isFile()) throw new UsageError(`-i/--identity: ${path} is not a file`);
    closeSync(openSync(file, "r"));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`-i/--identity: cannot read ${path}: ${why}`);
  }
  return file;
}

/** -o: ssh's Key=Value; the options that pin the host key are refused. */
function sshOption(option: string): string {
  const problem = sshOptionProblem(option);
  if (!problem) return option;
  const hint = ["table", "json", "yaml"].includes(option)
    ? "; after vm ssh, -o is ssh's (vm ssh has no output format)"
    : "";
  throw new UsageError(`-o/--ssh-option: ${problem}${hint}`);
}

export function vmSshCommands(vm: Command, ctx: Ctx): void {
  vm.command("ssh").description("log in to a VM with ssh (or run a command after --)")
    .argument("<vm>", "id or name")
    .argument("[command...]", "the command to run instead of a shell")
    .option("--user <name>", "log in as this user (default: the VM's cloud_init user)")
    .option(
      "-i, --identity <file>",
      "log in with this private key instead of the daemon's (repeatable)",
      collect,
    )
    .option(
      "-L, --local-forward <spec>",
      "forward a local port, as ssh -L: [bind_address:]port:host:hostport (repeatable)",
      collect,
    )
    .option("-A, --forward-agent", "forward your ssh agent, as ssh -A")
    .option(
      "-o, --ssh-option <option>",
      "an ssh option, as ssh -o: Key=Value (repeatable); the host key options are pinned",
      collect,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim vm ssh web\n  infrasim vm ssh web -- uname -a\n" +
        "  infrasim vm ssh -i ~/keys/vm_ed25519 -o ServerAliveInterval=5 web\n" +
        "  infrasim vm ssh -L 8080:127.0.0.1:80 web -- sleep infinity\n\n" +
        "The guest's host key was made by the daemon and is checked strictly.",
    )
    .action(async (ref, command, o) => {
      // Usage errors first, before the daemon is asked anything.
      const extras = {
        identities: (o.identity ?? []).map(identityFile),
        options: (o.sshOption ?? []).map(sshOption),
        forwardAgent: o.forwardAgent === true,
        localForwards: o.localForward ?? [],
      };
      const client = await ctx.client();
      const v = await client.getVm(ref);
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
      let restored: T.VmStatus | undefined;
      let watching: Following | undefined;
      try {
        process.exitCode = await new Promise<number>((resolve, reject) => {
          const args = sshArgs(a, o.user ?? a.user, command, !process.stdin.isTTY, extras);
          const child = spawn("ssh", args, { stdio: "inherit" });
          child.on("error", (e) => reject(new Error(`cannot run ssh: ${e.message}`)));
          child.on("exit", (c, sig) => resolve(c ?? 128 + (sig ? constants.signals[sig] : 1)));
          // A restore takes the guest back to before this connection: it would only hang.
          watching = follow(client, { kinds: ["VM"], name: v.meta!.id }, (e) => {
            const st = e.vm?.status;
            if (!st?.restored_at || st.restored_at === v.status!.restored_at || restored) return;
            restored = st;
            child.kill("SIGTERM");
          });
          watching.done.catch(() => {}); // without the watch, the session just goes on
        });
      } finally {
        watching?.stop();
        process.off("SIGINT", ignore);
      }
      if (restored) {
        process.stderr.write(
          `infrasim: vm ${quote(name)} was restored from snapshot ${
            quote(restored.restored_from)
          }: this ssh session ended (its connection belonged to the guest's state before)\n`,
        );
        process.exitCode = 255;
      }
    });
}
