// `infrasim events`: every change in the daemon as it happens (like `docker events`), from
// the Watch API: one line per change, or one JSON object per line with -o json (a YAML
// document each with -o yaml).
import type { Command } from "@commander-js/extra-typings";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { Ctx } from "../context.ts";
import { API_KINDS, eventObject, kindByName } from "../../api/kinds.ts";
import { collect, parseIntArg, UsageError } from "../flags.ts";
import { machineLine, watchLines } from "../watch.ts";

const KINDS = API_KINDS.map((k) => k.event);

/** What changed, said briefly per kind. */
function summary(e: T.WatchEvent): string {
  if (e.vm) {
    const s = e.vm.status!;
    const links = (s.links ?? []).map((l) => `${l.network_name}:${l.state}`).join(",");
    return [s.state, s.message, links && `links ${links}`].filter(Boolean).join(" ");
  }
  if (e.image) return `${e.image.status!.format} ${e.image.status!.digest.slice(0, 19)}`;
  if (e.volume) {
    const s = e.volume.status!;
    return `${s.size_bytes} bytes${
      s.attached_to_name ? `, attached to ${s.attached_to_name}` : ""
    }`;
  }
  if (e.network) {
    const s = e.network.status!;
    return `${s.state} ${s.attachments.length} attached`;
  }
  return "";
}

export function eventsCommand(program: Command, ctx: Ctx): void {
  program.command("events").description("print every change as it happens (Ctrl-C stops)")
    .option("--kind <kind>", `only this kind: ${KINDS.join(", ")} (repeatable)`, collect)
    .option("-l, --selector <selector>", "only objects whose labels match, e.g. env=dev")
    .option("--name <name>", "only the object with this name (or id)")
    .option(
      "--since <version>",
      "every change after this resource version first",
      parseIntArg(
        "--since",
      ),
    )
    .option("--list", "the current objects first (ADDED each), then the changes")
    .option("--count <n>", "stop after this many changes", parseIntArg("--count"))
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim events\n  infrasim events --kind vm -l env=dev\n" +
        "  infrasim events -o json | jq -c 'select(.type == \"MODIFIED\")'\n",
    )
    .action(async (o) => {
      for (const k of o.kind ?? []) {
        if (!kindByName(k)) {
          throw new UsageError(`--kind: "${k.slice(0, 20)}" is not one of ${KINDS.join(", ")}`);
        }
      }
      if (o.since !== undefined && o.since < 0) throw new UsageError("--since: must be 0 or more");
      const format = ctx.format();
      await watchLines(
        await ctx.client(),
        {
          kinds: o.kind ?? [],
          label_selector: o.selector ?? "",
          name: o.name ?? "",
          resource_version: o.since ?? 0,
        },
        ctx,
        {
          showInitial: !!o.list,
          count: o.count,
          line: (e) => {
            if (format !== "table") return machineLine(format, e);
            const obj = eventObject(e);
            return [
              String(e.resource_version),
              e.type,
              e.kind.toLowerCase(),
              obj?.meta?.name ?? "",
              summary(e),
            ].join("  ");
          },
        },
      );
    });
}
