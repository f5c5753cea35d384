// `infrasim volume create|list|get|resize|delete`.
import type { Command } from "@commander-js/extra-typings";
import { ApiError } from "../../api/errors.ts";
import { parseSizeGb } from "../../api/validate/volume.ts";
import type { Ctx } from "../context.ts";
import { collect, localUsage, parseKeyValues, UsageError } from "../flags.ts";
import { formatVolume, formatVolumeTable, render } from "../output.ts";

export function volumeCommands(volume: Command, ctx: Ctx): void {
  volume.command("create").description(
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

  volume.command("list").alias("ls").description("list volumes")
    .option("-l, --selector <selector>", "label selector")
    .action(async (o) => {
      const vols = await (await ctx.client()).listVolumes(o.selector ?? "");
      ctx.print(render(ctx.format(), vols, () => formatVolumeTable(vols)));
    });

  volume.command("get").description("show one volume").argument("<volume>", "id or name")
    .action(async (ref) => {
      const v = await (await ctx.client()).getVolume(ref);
      ctx.print(render(ctx.format(), v, () => formatVolume(v)));
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
          if (e instanceof ApiError) e.message = e.message.replace(/^spec\.size_gb: /, "<size>: ");
          throw e;
        });
      ctx.print(render(ctx.format(), v, () => formatVolume(v)));
    });

  volume.command("delete").alias("rm").description("delete volumes (refused while a VM uses one)")
    .argument("<volume...>", "ids or names")
    .action(async (refs) => {
      const client = await ctx.client();
      for (const ref of refs) {
        const r = await client.deleteVolume(ref);
        ctx.print(render(ctx.format(), r, () => `deleted ${ref} (${r.id})`));
      }
    });
}
