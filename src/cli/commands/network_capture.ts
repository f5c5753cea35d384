// `infrasim network capture NETWORK`: a live packet capture on the network's links, as
// pcapng to a file or to stdout (for `| tshark -r -` or `| wireshark -k -i -`).
import { createWriteStream } from "node:fs";
import type { Command } from "@commander-js/extra-typings";
import type { Ctx } from "../context.ts";
import { flagFields, parseIntArg, UsageError } from "../flags.ts";
import { CAPTURE_LIMITS } from "../../api/validate/network.ts";

/** A capture's length: 30s, 5m, 1h, or bare seconds. */
export function parseCaptureDuration(v: string): number {
  const m = v.trim().match(/^(\d+)\s*(s|m|h)?$/);
  if (!m) {
    throw new UsageError(
      `--duration: ${JSON.stringify(v.slice(0, 30))} is not a duration such as 30s or 5m`,
    );
  }
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s"];
}

/** --vm VM or VM:NIC (the interface's index in the VM's spec). */
export function parseVmLink(v: string): { vm: string; interface?: number } {
  const m = v.match(/^(.+?)(?::(\d+))?$/)!;
  return m[2] === undefined ? { vm: m[1] } : { vm: m[1], interface: Number(m[2]) };
}

export function captureCommand(network: Command, ctx: Ctx): void {
  flagFields(network.command("capture"), {
    vm: "--vm",
    interface: "--vm",
    point: "--point",
    count: "--count",
    duration_seconds: "--duration",
    snaplen: "--snaplen",
  })
    .description("capture the frames on a network's links as pcapng (Wireshark and tshark read it)")
    .argument("<network>", "id or name")
    .option("--vm <vm[:nic]>", "only this VM's link(s); :nic picks one interface by index")
    .option(
      "--point <point>",
      "sent (before the link's impairment), delivered (after) or both",
      "both",
    )
    .option(
      "--count <n>",
      "stop after this many frames",
      parseIntArg("--count", CAPTURE_LIMITS.count),
    )
    .option("--duration <time>", "stop after this long, e.g. 30s or 5m", parseCaptureDuration)
    .option(
      "--snaplen <bytes>",
      "bytes kept of each frame (default 65535)",
      parseIntArg("--snaplen", CAPTURE_LIMITS.snaplen),
    )
    .option(
      "-w, --write <file>",
      "write to this file; - for stdout (the default when it is not a terminal)",
    )
    .addHelpText(
      "after",
      "\nEach link is one interface per point, named VM:nicN:sent and VM:nicN:delivered: a frame\n" +
        "lost to impairment is in the first and not the second.\n\nExamples:\n" +
        "  infrasim network capture wan --vm client --count 100 -w wan.pcapng\n" +
        "  infrasim network capture wan -w - | tshark -r -\n" +
        "  infrasim network capture wan -w - | wireshark -k -i -",
    )
    .action(async (ref, o) => {
      const to = o.write ?? (process.stdout.isTTY ? undefined : "-");
      if (!to) {
        throw new UsageError("-w: pcapng is binary: give -w FILE, or pipe it (-w - | tshark -r -)");
      }
      const link = o.vm ? parseVmLink(o.vm) : {};
      const out = to === "-" ? process.stdout : createWriteStream(to, { mode: 0o600 });
      const opened = to === "-" ? Promise.resolve() : new Promise<void>((resolve, reject) => {
        out.once("error", reject);
        (out as ReturnType<typeof createWriteStream>).once("open", () => resolve());
      });
      await opened.catch((e) => {
        throw new UsageError(`-w: cannot write ${to}: ${(e as Error).message}`);
      });
      const client = await ctx.client();
      const job = client.captureNetwork(
        {
          ref,
          ...link,
          point: o.point,
          count: o.count ?? 0,
          duration_seconds: o.duration ?? 0,
          snaplen: o.snaplen ?? 0,
        },
        (chunk, drain) => {
          const ok = out.write(chunk);
          if (!ok) out.once("drain", drain);
          return ok;
        },
      );
      const stop = () => job.cancel();
      process.once("SIGINT", stop);
      try {
        await job.done;
      } finally {
        process.off("SIGINT", stop);
        if (out !== process.stdout) {
          await new Promise<void>((r) =>
            (out as ReturnType<typeof createWriteStream>).end(() => r())
          );
        }
      }
    });
}
