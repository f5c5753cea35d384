// `infrasim snapshot create|list|get|restore|delete`.
import type { Command } from "@commander-js/extra-typings";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { Ctx } from "../context.ts";
import { collect, flagFields, parseKeyValues, renameFields } from "../flags.ts";
import { age, bytes, columns, render } from "../output.ts";
import { kindCommands } from "../kinds.ts";
import { showSaves } from "../progress.ts";

const FIELDS = {
  "meta.name": "--name",
  "meta.labels": "--label",
  "spec.vm": "<vm>",
  "spec.include_memory": "--no-memory",
  "spec.description": "--description",
} as const;

const state = (s: T.SnapshotStatus) => s.state.replace("SNAPSHOT_", "");
const what = (s: T.SnapshotStatus) => {
  const n = s.disks.filter((d) => d.included).length;
  const disks = `${n} disk${n === 1 ? "" : "s"}`;
  return s.has_memory ? `memory + ${disks}` : disks;
};

export function formatSnapshotTable(snaps: T.Snapshot[]): string {
  if (snaps.length === 0) return "No snapshots.";
  return columns([
    ["NAME", "VM", "STATE", "HOLDS", "MEMORY", "AGE", "ID"],
    ...snaps.map((s) => [
      s.meta!.name,
      s.status!.vm_name,
      state(s.status!),
      what(s.status!),
      s.status!.has_memory ? bytes(s.status!.memory_bytes) : "-",
      age(s.meta!.created_at),
      s.meta!.id,
    ]),
  ]);
}

export function formatSnapshot(s: T.Snapshot): string {
  const m = s.meta!, st = s.status!;
  const rows: [string, string][] = [
    ["Name", m.name],
    ["ID", m.id],
    ["VM", `${st.vm_name} (${s.spec!.vm})`],
    ["State", state(st)],
    ["Holds", what(st)],
  ];
  if (st.has_memory) {
    rows.push(
      ["Memory", `${bytes(st.memory_bytes)} on disk; the guest was paused ${st.pause_ms} ms`],
      ["QEMU", `${st.qemu_version} (machine ${st.machine})`],
    );
  }
  for (const d of st.disks) {
    rows.push([
      d.included ? "Disk" : "Left out",
      `${d.field}${d.path ? ` ${d.path}` : ""}${d.included ? "" : `: ${d.reason}`}`,
    ]);
  }
  if (s.spec!.description) rows.push(["Description", s.spec!.description]);
  rows.push(
    ["Labels", Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(",") || "-"],
    ["Created", m.created_at],
  );
  if (st.last_restored_at) rows.push(["Restored", st.last_restored_at]);
  if (st.message) rows.push(["Message", st.message]);
  return columns(rows.map(([k, v]) => [`${k}:`, v]));
}

export function snapshotCommands(snapshot: Command, ctx: Ctx): void {
  flagFields(snapshot.command("create"), FIELDS)
    .description("snapshot a VM: a running one with its memory, a stopped one's disks")
    .argument("<vm>", "id or name")
    .option("--name <name>", "unique name, a DNS label (default: <vm>-<UTC time>)")
    .option("--no-memory", "disks only, also of a running VM (a restore then needs it stopped)")
    .option("--description <text>", "free text")
    .option("--label <key=value>", "label (repeatable)", collect)
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim snapshot create web --name before-upgrade\n" +
        "  infrasim snapshot create db --no-memory\n",
    )
    .action(async (vm, o) => {
      const client = await ctx.client();
      const saving = o.memory
        ? await showSaves(
          client,
          `snapshot of ${vm}`,
          "",
          (s) =>
            (s.spec!.vm === vm || s.status!.vm_name === vm) && (!o.name || s.meta!.name === o.name),
        )
        : undefined;
      const s = await client.createSnapshot({
        meta: { name: o.name ?? "", labels: parseKeyValues("--label", o.label) },
        spec: { vm, include_memory: o.memory, description: o.description ?? "" },
      }).catch((e) => {
        throw renameFields(e, FIELDS);
      }).finally(() => saving?.stop());
      ctx.print(render(ctx.format(), s, () => formatSnapshot(s)));
    });

  kindCommands(snapshot, ctx, {
    kind: "SNAPSHOT",
    event: "snapshot",
    noun: "snapshot",
    plural: "snapshots",
    listScope: { arg: "vm", description: "only this VM's snapshots (id or name)" },
    list: (c, selector, vm) =>
      c.listSnapshots({ label_selector: selector, vm }).then((r) => r.snapshots),
    get: (c, ref) => c.getSnapshot(ref),
    table: formatSnapshotTable,
    detail: formatSnapshot,
    delete: {
      description: "delete snapshots (the VM keeps running as it is)",
      run: async (c, ref) => {
        const r = await c.deleteSnapshot({ ref });
        return render(ctx.format(), r, () => `deleted ${ref} (${r.id})`);
      },
    },
  });

  snapshot.command("restore")
    .description(
      "roll a VM back to a snapshot: a running VM runs on from that moment, a stopped one " +
        "stays stopped with its disks rolled back",
    )
    .argument("<snapshot>", "id or name")
    .action(async (ref) => {
      const s = await (await ctx.client()).restoreSnapshot({ ref });
      ctx.print(render(ctx.format(), s, () => s.status!.message));
    });
}
