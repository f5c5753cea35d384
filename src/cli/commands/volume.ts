// `infrasim volume create|list|get|resize|delete`.
import type { Command } from "@commander-js/extra-typings";
import { parseSizeGb } from "../../api/validate/volume.ts";
import type { Ctx } from "../context.ts";
import {
  collect,
  flagFields,
  localUsage,
  parseKeyValues,
  renameFields,
  UsageError,
} from "../flags.ts";
import { formatVolume, formatVolumeTable, render } from "../output.ts";
import { kindCommands } from "../kinds.ts";

export function volumeCommands(volume: Command, ctx: Ctx): void {
  flagFields(volume.command("create"), {
    "meta.name": "--name",
    "meta.labels": "--label",
    "spec.image": "--image",
    "spec.size_gb": "--size",
  }).description(
    "create a volume: blank, or a copy-on-write overlay of an image",
  )
    .option("--name <name>", "unique name, a DNS label (required)")
    .option("--image <image>", "the image it is an overlay of (id or name)")
    .option("--size <size>", "size, e.g. 8G (required without --image; default: the image's)")
    .option("--label <key=value>", "label (repeatable)", collect)
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim volume create --name web-root --image debian-12 --size 8G\n" +
        "  infrasim volume create --name data --size 20G\n",
    )
    .action(async (o) => {
      if (!o.name) throw new UsageError("required option '--name <name>' not specified");
      let size = 0;
      localUsage(() => void (size = o.size ? parseSizeGb(o.size, "--size") : 0));
      if (!o.image && !size) {
        throw new UsageError("--size is required for a blank volume (no --image)");
      }
      const v = await (await ctx.client()).createVolume({
        meta: { name: o.name, labels: parseKeyValues("--label", o.label) },
        spec: { image: o.image ?? "", size_gb: size },
      });
      ctx.print(render(ctx.format(), v, () => formatVolume(v)));
    });

  kindCommands(volume, ctx, {
    kind: "VOLUME",
    event: "volume",
    noun: "volume",
    plural: "volumes",
    list: (c, selector) => c.listVolumes({ label_selector: selector }).then((r) => r.volumes),
    get: (c, ref) => c.getVolume(ref),
    table: formatVolumeTable,
    detail: formatVolume,
    delete: {
      description: "delete volumes (refused while a VM uses one)",
      run: async (c, ref) => {
        const r = await c.deleteVolume(ref);
        return render(ctx.format(), r, () => `deleted ${ref} (${r.id})`);
      },
    },
  });

  volume.command("resize").description("grow a volume (also while its VM runs; never shrinks)")
    .argument("<volume>", "id or name")
    .argument("<size>", "the new size, e.g. 16G")
    .action(async (ref, sizeText) => {
      let size = 0;
      localUsage(() => void (size = parseSizeGb(sizeText, "<size>")));
      const client = await ctx.client();
      const cur = await client.getVolume(ref);
      const v = await client.updateVolume({ ref, spec: { image: cur.spec!.image, size_gb: size } })
        .catch((e) => {
          throw renameFields(e, { "spec.size_gb": "<size>" });
        });
      ctx.print(render(ctx.format(), v, () => formatVolume(v)));
    });
}
