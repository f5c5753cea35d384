// `infrasim image import|list|get|delete`.
import type { Command } from "@commander-js/extra-typings";
import type { Ctx } from "../context.ts";
import { absolute, collect, flagFields, parseKeyValues, UsageError } from "../flags.ts";
import { formatImage, formatImageTable, render } from "../output.ts";
import { kindCommands } from "../kinds.ts";
import { progressReporter } from "../progress.ts";

export function imageCommands(image: Command, ctx: Ctx): void {
  flagFields(image.command("import"), {
    "meta.name": "--name",
    "meta.labels": "--label",
    "spec.source": "<source>",
    "spec.sha256": "--sha256",
  }).description("import a disk image from a path or an http(s) URL")
    .argument("<source>", "a file (relative to here) or an http(s):// URL")
    .option("--name <name>", "unique name, a DNS label (required)")
    .option("--sha256 <hex>", "the expected digest; the import fails if it differs")
    .option("--label <key=value>", "label (repeatable)", collect)
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim image import --name debian-12 ./debian-12-genericcloud-amd64.qcow2\n" +
        "  infrasim image import --name debian-12 --sha256 <hex> https://example.org/debian.qcow2\n",
    )
    .action(async (source, o) => {
      if (!o.name) throw new UsageError("required option '--name <name>' not specified");
      const src = /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? source : absolute(source);
      const client = await ctx.client();
      const bar = await progressReporter(o.name);
      const job = client.importImage({
        meta: { name: o.name, labels: parseKeyValues("--label", o.label) },
        spec: { source: src, sha256: o.sha256 ?? "" },
      }, (done, total) => bar.update(done, total));
      process.once("SIGINT", () => job.cancel());
      try {
        const img = await job.done;
        bar.stop();
        ctx.print(render(ctx.format(), img, () => formatImage(img)));
      } finally {
        bar.stop();
      }
    });

  kindCommands(image, ctx, {
    kind: "IMAGE",
    event: "image",
    noun: "image",
    plural: "images",
    list: (c, selector) => c.listImages({ label_selector: selector }).then((r) => r.images),
    get: (c, ref) => c.getImage(ref),
    table: formatImageTable,
    detail: formatImage,
    delete: {
      description: "delete images (refused while a volume uses one)",
      run: async (c, ref) => {
        const r = await c.deleteImage(ref);
        return render(ctx.format(), r, () => `deleted ${ref} (${r.id})`);
      },
    },
  });
}
