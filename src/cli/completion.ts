// Shell completion through @bomb.sh/tab's commander adapter: `infrasim completion
// bash|zsh|fish|powershell` prints a script, and the script calls the hidden
// `infrasim complete -- WORDS...` on each TAB. The library is loaded only for those two
// commands; other runs list a stand-in `completion` command in --help.
import type { Command } from "@commander-js/extra-typings";
import type { Command as PlainCommand } from "commander";
import type { Ctx } from "./context.ts";

const DESCRIPTION = "print a shell completion script (bash, zsh, fish, powershell)";
export const SHELLS = ["bash", "zsh", "fish", "powershell"];

const INSTALL = `
Install it once, then open a new shell (infrasim must be on PATH):
  bash  echo 'source <(infrasim completion bash)' >> ~/.bashrc
        (needs the bash-completion package)
  zsh   echo 'source <(infrasim completion zsh)' >> ~/.zshrc
        (after compinit in ~/.zshrc)
  fish  infrasim completion fish > ~/.config/fish/completions/infrasim.fish
VM and network names are completed from the daemon when it answers within a second.`;

/** Subcommands (and aliases) whose positional arguments name objects of their kind. */
const NETWORK_REF_COMMANDS = new Set(["get", "update", "qos", "delete", "rm"]);
const VM_REF_COMMANDS = new Set([
  "get",
  "start",
  "stop",
  "restart",
  "delete",
  "rm",
  "port",
  "logs",
  "console",
  "ssh",
  "wait",
]);

/** ListVms is only worth its round trip while TAB waits if it answers at once. */
const NAMES_TIMEOUT_SECONDS = 1;

/** True when argv runs either completion command (a VM named so only costs a load). */
export const wantsCompletion = (argv: string[]) =>
  argv.includes("completion") || argv.includes("complete");

/** The words a completion request completes: what follows `complete --`. */
export function completionWords(argv: string[]): string[] | undefined {
  const i = argv.indexOf("complete");
  return i >= 0 && argv[i + 1] === "--" ? argv.slice(i + 2) : undefined;
}

/** The kind whose name the word being completed is, e.g. "vm" for `vm start ""`. */
export function completesName(words: string[]): "vm" | "network" | undefined {
  const positional = words.slice(0, -1).filter((w) => !w.startsWith("-"));
  if (words[words.length - 1]?.startsWith("-")) return undefined;
  if (positional[0] === "vm" && VM_REF_COMMANDS.has(positional[1])) return "vm";
  if (positional[0] === "network" && NETWORK_REF_COMMANDS.has(positional[1])) return "network";
  return undefined;
}

/** [name, state] of the daemon's objects; none when it cannot answer within a second. */
async function names(ctx: Ctx, kind: "vm" | "network"): Promise<Array<[string, string]>> {
  const o = { timeoutSeconds: NAMES_TIMEOUT_SECONDS };
  try {
    const client = await ctx.client();
    if (kind === "network") {
      return (await client.listNetworks({ label_selector: "" }, o)).networks.map((
        n,
      ) => [n.meta!.name, n.spec!.cidr]);
    }
    return (await client.listVms({ label_selector: "" }, o)).vms.map((
      v,
    ) => [v.meta!.name, v.status!.state]);
  } catch {
    return [];
  }
}

/** Help lists `completion` without the library being loaded. */
export function addCompletionStandIn(program: Command): void {
  program.command("completion").description(DESCRIPTION).argument("<shell>", SHELLS.join(", "));
}

/** The real completion commands, with VM names from the daemon for VM arguments. */
export async function addCompletion(program: Command, ctx: Ctx, argv: string[]): Promise<void> {
  const { default: tab } = await import("@bomb.sh/tab/commander");
  const root = tab(program as unknown as PlainCommand, { completionCommandName: "completion" });
  program.commands.find((c) => c.name() === "completion")?.description(DESCRIPTION)
    .addHelpText("after", INSTALL);
  const listed = root.commands.get("completion");
  if (listed) listed.description = DESCRIPTION;
  // The adapter's handlers are synchronous, so the names are fetched before it runs:
  // in a hook, where the global options (--daemon-address) have been parsed.
  const found: Array<[string, string]> = [];
  program.hook("preAction", async (_, action) => {
    const words = completionWords(argv);
    const kind = action.name() === "complete" && words ? completesName(words) : undefined;
    if (kind) found.push(...await names(ctx, kind));
  });
  for (const kind of ["vm", "network"]) {
    const group = program.commands.find((c) => c.name() === kind);
    for (const sub of group?.commands ?? []) {
      const entry = root.commands.get(`${kind} ${sub.name()}`);
      if (!entry) continue;
      const arg = entry.arguments.get(kind);
      if (arg) arg.handler = (complete) => found.forEach(([n, what]) => complete(n, what));
      // The adapter knows commands by name only; `vm rm <TAB>` should work like delete.
      for (const alias of sub.aliases()) {
        const a = root.command(`${kind} ${alias}`, entry.description);
        a.options = entry.options;
        a.arguments = entry.arguments;
      }
    }
  }
}
