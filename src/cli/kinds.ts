// What every kind's command group has, built once: `list` (with --watch), `get` and
// `delete`. A kind's file gives its client calls and its formatting; the commands,
// options, output formats and the watch loop are the same for all.
import type { Command } from "@commander-js/extra-typings";
import type { InfrasimClient } from "../api/client.ts";
import type * as T from "../api/gen/infrasim.v1.ts";
import type { ApiKind } from "../api/kinds.ts";
import type { Ctx } from "./context.ts";
import { render } from "./output.ts";
import { machineLine, watchLines } from "./watch.ts";
import { UsageError } from "./flags.ts";

/** An API object as every kind has it. */
export interface ApiObject {
  meta?: T.ObjectMeta | null;
}

export interface KindCli<O extends ApiObject> extends ApiKind {
  /** "vm", "image": the argument's name in usage lines. */
  noun: string;
  /** "VMs", "images": in descriptions. */
  plural: string;
  list(client: InfrasimClient, selector: string, scope: string): Promise<O[]>;
  /** An optional argument of `list` that narrows it (a snapshot list's VM). */
  listScope?: { arg: string; description: string };
  get(client: InfrasimClient, ref: string): Promise<O>;
  /** The table for people (header and rows). */
  table(items: O[]): string;
  /** One object for people. */
  detail(o: O): string;
  /** Live figures `get` adds for people (a network's counters): not part of the object. */
  live?(client: InfrasimClient, o: O): Promise<string>;
  /** What `delete` says of an object, before and after (e.g. the volumes it keeps). */
  delete?: {
    description: string;
    examples?: string;
    force?: string;
    /** Further switches, as [flags, description]; run gets them by their camelCase name. */
    switches?: Array<[string, string]>;
    run(
      client: InfrasimClient,
      ref: string,
      force: boolean,
      table: boolean,
      switches: Record<string, boolean>,
    ): Promise<string>;
  };
  listExamples?: string;
}

export function kindCommands<O extends ApiObject>(group: Command, ctx: Ctx, k: KindCli<O>): void {
  const list = group.command("list").alias("ls").description(`list ${k.plural}`);
  if (k.listScope) list.argument(`[${k.listScope.arg}]`, k.listScope.description);
  list.option("-l, --selector <selector>", "label selector, e.g. env=dev,tier!=db")
    .option("-w, --watch", "after the list, print each change as it happens (Ctrl-C stops)")
    .addHelpText("after", k.listExamples ?? "")
    .action(async (...args: unknown[]) => {
      const scope = k.listScope && typeof args[0] === "string" ? args[0] : "";
      const o = args[k.listScope ? 1 : 0] as { selector?: string; watch?: boolean };
      const client = await ctx.client();
      if (!o.watch || scope) {
        if (o.watch) throw new UsageError(`--watch lists all ${k.plural}: leave out ${scope}`);
        const items = await k.list(client, o.selector ?? "", scope);
        return ctx.print(render(ctx.format(), items, () => k.table(items)));
      }
      await watchLines(client, { kinds: [k.kind], label_selector: o.selector ?? "" }, ctx, {
        initial: (events) => {
          const items = events.map((e) => e[k.event] as O);
          return ctx.format() === "table" ? k.table(items) : undefined;
        },
        line: (e) => {
          const o = e[k.event] as O;
          // For machines, each change with its type: a deleted object says so.
          if (ctx.format() !== "table") {
            return machineLine(ctx.format(), { type: e.type, object: o });
          }
          // One row, under the table's header; a deleted object says so in its last row.
          const row = k.table([o]).split("\n").slice(1).join("\n");
          return e.type === "DELETED" ? `${row}  (deleted)` : row;
        },
        showInitial: true,
      });
    });

  group.command("get").description(`show one of the ${k.plural}`)
    .argument(`<${k.noun}>`, "id or name")
    .action(async (ref) => {
      const client = await ctx.client();
      const o = await k.get(client, ref);
      const live = k.live && ctx.format() === "table" ? `\n\n${await k.live(client, o)}` : "";
      ctx.print(render(ctx.format(), o, () => k.detail(o) + live));
    });

  const del = k.delete;
  if (!del) return;
  const cmd = group.command("delete").alias("rm").description(del.description)
    .argument(`<${k.noun}...>`, "ids or names");
  if (del.force) cmd.option("-f, --force", del.force);
  for (const [flags, description] of del.switches ?? []) cmd.option(flags, description);
  if (del.examples) cmd.addHelpText("after", del.examples);
  cmd.action(async (refs, o) => {
    const client = await ctx.client();
    const switches = o as Record<string, boolean>;
    for (const ref of refs) {
      const force = !!switches.force;
      ctx.print(await del.run(client, ref, force, ctx.format() === "table", switches));
    }
  });
}
