// `infrasim checkpoint create|list|get|restore|delete`.
import type { Command } from "@commander-js/extra-typings";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { Ctx } from "../context.ts";
import { collect, flagFields, parseKeyValues, renameFields } from "../flags.ts";
import { age, columns, render } from "../output.ts";
import { kindCommands } from "../kinds.ts";
import { showSaves } from "../progress.ts";
import { CHECKPOINT_LABEL } from "../../api/validate/checkpoint.ts";
import { formatQos } from "../qos_flags.ts";

const FIELDS = {
  "meta.name": "<name>",
  "meta.labels": "--label",
  "spec.label_selector": "--selector",
  "spec.description": "--description",
} as const;

const state = (s: T.CheckpointStatus) => s.state.replace("CHECKPOINT_", "");

export function formatCheckpointTable(cps: T.Checkpoint[]): string {
  if (cps.length === 0) return "No checkpoints.";
  return columns([
    ["NAME", "STATE", "VMS", "PAUSE", "AGE", "ID"],
    ...cps.map((c) => [
      c.meta!.name,
      state(c.status!),
      c.status!.vms.map((v) => v.vm_name).join(","),
      `${c.status!.pause_ms} ms`,
      age(c.meta!.created_at),
      c.meta!.id,
    ]),
  ]);
}

export function formatCheckpoint(c: T.Checkpoint): string {
  const m = c.meta!, st = c.status!;
  const rows: [string, string][] = [
    ["Name", m.name],
    ["ID", m.id],
    ["State", state(st)],
    ["Selector", c.spec!.label_selector || "(every VM)"],
    ["Paused", `${st.pause_ms} ms (every running VM, together); ${st.total_ms} ms in all`],
  ];
  for (const v of st.vms) {
    rows.push([
      "VM",
      `${v.vm_name}: snapshot ${v.snapshot_name} (${
        v.running ? "running, with memory" : "stopped, disks"
      })`,
    ]);
  }
  for (const n of st.networks) {
    rows.push([
      "Network",
      `${n.network_name}: ${formatQos(n.link_qos ?? undefined) || "no impairment"}`,
    ]);
  }
  if (c.spec!.description) rows.push(["Description", c.spec!.description]);
  rows.push(["Created", m.created_at]);
  if (st.last_restored_at) rows.push(["Restored", st.last_restored_at]);
  if (st.message) rows.push(["Message", st.message]);
  return columns(rows.map(([k, v]) => [`${k}:`, v]));
}

export function checkpointCommands(checkpoint: Command, ctx: Ctx): void {
  flagFields(checkpoint.command("create"), FIELDS)
    .description(
      "snapshot a set of VMs at one moment: all paused, each saved, all resumed together",
    )
    .argument("<name>", "unique name, a DNS label")
    .option("-l, --selector <selector>", "the VMs it takes, by label (default: every VM)")
    .option("--description <text>", "free text")
    .option("--label <key=value>", "label (repeatable)", collect)
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim checkpoint create baseline\n" +
        "  infrasim checkpoint create wan-ok -l lab=wan\n",
    )
    .action(async (name, o) => {
      const client = await ctx.client();
      const saving = await showSaves(
        client,
        `checkpoint ${name}`,
        `${CHECKPOINT_LABEL}=${name}`,
        () => true,
      );
      const c = await client.createCheckpoint({
        meta: { name, labels: parseKeyValues("--label", o.label) },
        spec: { label_selector: o.selector ?? "", description: o.description ?? "" },
      }).catch((e) => {
        throw renameFields(e, FIELDS);
      }).finally(() => saving.stop());
      ctx.print(render(ctx.format(), c, () => formatCheckpoint(c)));
    });

  kindCommands(checkpoint, ctx, {
    kind: "CHECKPOINT",
    event: "checkpoint",
    noun: "checkpoint",
    plural: "checkpoints",
    list: (c, selector) =>
      c.listCheckpoints({ label_selector: selector }).then((r) => r.checkpoints),
    get: (c, ref) => c.getCheckpoint(ref),
    table: formatCheckpointTable,
    detail: formatCheckpoint,
    delete: {
      description: "delete checkpoints, with their snapshots",
      run: async (c, ref) => {
        const r = await c.deleteCheckpoint({ ref });
        return render(ctx.format(), r, () => `deleted ${ref} (${r.id})`);
      },
    },
  });

  checkpoint.command("restore")
    .description("roll every VM of a checkpoint back together, with its links' impairment")
    .argument("<checkpoint>", "id or name")
    .action(async (ref) => {
      const c = await (await ctx.client()).restoreCheckpoint({ ref });
      ctx.print(render(ctx.format(), c, () => c.status!.message));
    });
}
