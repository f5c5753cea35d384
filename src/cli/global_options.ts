// The program's options (output format, daemon address, token) are typed before a command
// (`infrasim -o json vm list`) or after it (`infrasim vm list -o json`). The program reads
// its own only before the command (positional options), and every command carries a
// hidden copy of each, so that a command's own short option never collides with them:
// after `vm ssh`, -o is ssh's.
import { type Command, Option } from "@commander-js/extra-typings";

export interface GlobalOptions {
  daemonAddress?: string;
  token?: string;
  output: string;
}

/** Commands that never talk to the daemon nor print an object: no copies. */
const OWN_OPTIONS_ONLY = new Set(["completion", "complete"]);

export function inheritGlobalOptions(program: Command): void {
  program.enablePositionalOptions();
  const globals = program.options.filter((o) => o.long !== "--version");
  const walk = (c: Command) => {
    if (c !== program && c.commands.length === 0 && !OWN_OPTIONS_ONLY.has(c.name())) {
      let shadowed = false;
      for (const g of globals) {
        if (c.options.some((o) => o.long === g.long)) continue;
        const own = !!g.short && c.options.some((o) => o.short === g.short);
        shadowed ||= own;
        const short = g.short && !own ? `${g.short}, ` : "";
        const copy = new Option(`${short}${g.flags.replace(/^-\w, /, "")}`, g.description)
          .hideHelp();
        if (g.argChoices) copy.choices(g.argChoices);
        c.addOption(copy);
      }
      // Its help lists them as global options, unless one of its own shares a letter.
      if (!shadowed) c.configureHelp({ ...c.configureHelp(), showGlobalOptions: true });
    }
    c.commands.forEach((sub) => walk(sub as Command));
  };
  walk(program);
}

/** The global options in effect: what was typed after the command over what came before. */
export function globalOptions(program: Command, running?: Command): GlobalOptions {
  const after = (running?.opts() ?? {}) as Partial<GlobalOptions>;
  const before = program.opts() as unknown as GlobalOptions;
  return {
    daemonAddress: after.daemonAddress ?? before.daemonAddress,
    token: after.token ?? before.token,
    output: after.output ?? before.output,
  };
}
