// `infrasim vm list|get|delete|port`.
import type { Command } from "@commander-js/extra-typings";
import { ApiError, Status } from "../../../api/errors.ts";
import type { Ctx } from "../../context.ts";
import { formatVm, formatVmTable, render } from "../../output.ts";
import { kindCommands } from "../../kinds.ts";
import { DELETE_EXAMPLES } from "../../help.ts";
import { renameFields } from "../../flags.ts";

export function vmCommands(vm: Command, ctx: Ctx): void {
  kindCommands(vm, ctx, {
    kind: "VM",
    event: "vm",
    noun: "vm",
    plural: "VMs",
    list: (c, selector) => c.listVms({ label_selector: selector }).then((r) => r.vms),
    get: (c, ref) => c.getVm(ref),
    table: formatVmTable,
    detail: formatVm,
    delete: {
      description: "delete VMs (a running one needs --force)",
      force: "delete running VMs too, killing their QEMU at once",
      switches: [[
        "--with-snapshots",
        "delete their snapshots too (else a VM with any is refused)",
      ]],
      examples: DELETE_EXAMPLES,
      run: async (client, ref, force, table, o) => {
        const vm = table ? await client.getVm(ref) : undefined;
        const r = await client.deleteVm({ ref: ref, force, with_snapshots: !!o.withSnapshots })
          .catch((e) => {
            throw renameFields(e, { with_snapshots: "--with-snapshots" });
          });
        const s = vm?.spec;
        const kept = [s?.boot?.volume?.volume, ...(s?.volumes ?? []).map((v) => v.volume)]
          .filter(Boolean);
        const note = kept.length
          ? `; its volumes are kept: ${kept.join(", ")} (infrasim volume delete ${kept.join(" ")})`
          : "";
        return render(ctx.format(), r, () => `deleted ${ref} (${r.id})${note}`);
      },
    },
  });

  vm.command("port").description("show forwarded ports, like `docker port`")
    .argument("<vm>", "id or name")
    .argument("[guest-port]", "only this guest port; prints just 127.0.0.1:HOST")
    .action(async (ref, guestPort) => {
      const v = await (await ctx.client()).getVm(ref);
      const fwds = v.status!.port_forwards;
      if (guestPort === undefined) {
        const table = () =>
          fwds.map((p) => `${p.guest_port}/${p.protocol} -> 127.0.0.1:${p.host_port}`).join("\n") ||
          "No port forwards.";
        ctx.print(render(ctx.format(), fwds, table));
        return;
      }
      const p = fwds.find((f) => String(f.guest_port) === guestPort);
      if (!p) throw new ApiError(Status.NOT_FOUND, `vm ${ref} forwards no guest port ${guestPort}`);
      ctx.print(render(ctx.format(), p, () => `127.0.0.1:${p.host_port}`));
    });
}
