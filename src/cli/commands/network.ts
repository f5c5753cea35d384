// `infrasim network create|list|get|update|qos|link|counters|capture|delete`.
import type { Command } from "@commander-js/extra-typings";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { Ctx } from "../context.ts";
import { collect, flagFields, parseIntArg, parseKeyValues, UsageError } from "../flags.ts";
import { formatCounters, formatNetwork, formatNetworkTable, render } from "../output.ts";
import { kindCommands } from "../kinds.ts";
import { MTU, SEED_MAX } from "../../api/validate/network.ts";
import { captureCommand, parseVmLink } from "./network_capture.ts";
import { qosFlagFields, type QosFlags, qosFromFlags, qosOptions } from "../qos_flags.ts";

/** The API fields `network create` and `update` set, by flag. */
const NETWORK_FIELDS = {
  "meta.name": "--name",
  "meta.labels": "--label",
  "spec.cidr": "--cidr",
  "spec.mtu": "--mtu",
  "spec.seed": "--seed",
  ...qosFlagFields("spec.link_qos"),
};

const SEED_HELP = `repeat the impairment's random choices run after run (0-${SEED_MAX})`;

const QOS_HELP =
  "\nImpairment applies to what each VM sends into the network (like tc netem on its\n" +
  "interface), so a ping between two VMs with latency 40ms takes 80 ms.\n";

const merge = (cur: T.LinkQos | null | undefined, add: T.LinkQos): T.LinkQos => {
  const out: T.LinkQos = {};
  for (const [k, v] of Object.entries({ ...cur, ...add })) {
    if (!k.startsWith("_") && v !== null && v !== undefined) {
      (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
};

export function networkCommands(network: Command, ctx: Ctx): void {
  const create = flagFields(network.command("create"), NETWORK_FIELDS)
    .description("create a private network (a switch VMs plug into)")
    .option("--name <name>", "unique name, a DNS label (required)")
    .option("--cidr <cidr>", "its IPv4 network, /16 to /29, e.g. 10.20.0.0/24 (required)")
    .option("--mtu <bytes>", "MTU of its links (default 1500)", parseIntArg("--mtu", MTU))
    .option("--seed <n>", SEED_HELP, parseIntArg("--seed", [0, SEED_MAX]))
    .option("--label <key=value>", "label (repeatable)", collect);
  qosOptions(create)
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim network create --name wan --cidr 10.20.0.0/24 --latency 40ms --loss 1%\n" +
        QOS_HELP,
    )
    .action(async (o) => {
      if (!o.name) throw new UsageError("required option '--name <name>' not specified");
      if (!o.cidr) throw new UsageError("required option '--cidr <cidr>' not specified");
      const n = await (await ctx.client()).createNetwork({
        meta: { name: o.name, labels: parseKeyValues("--label", o.label) },
        spec: {
          cidr: o.cidr,
          mtu: o.mtu ?? 0,
          link_qos: qosFromFlags(o as QosFlags),
          seed: o.seed,
        },
      });
      ctx.print(render(ctx.format(), n, () => formatNetwork(n)));
    });

  kindCommands(network, ctx, {
    kind: "NETWORK",
    event: "network",
    noun: "network",
    plural: "networks",
    list: (c, selector) => c.listNetworks({ label_selector: selector }).then((r) => r.networks),
    get: (c, ref) => c.getNetwork(ref),
    table: formatNetworkTable,
    detail: formatNetwork,
    live: (c, n) =>
      c.getNetworkCounters({ ref: n.meta!.id }).then(
        formatCounters,
        (e) => `Counters: unavailable (${(e as Error).message})`,
      ),
    delete: {
      description: "delete networks (refused while VMs use one)",
      run: async (c, ref) => {
        const r = await c.deleteNetwork(ref);
        return render(ctx.format(), r, () => `deleted ${ref} (${r.id})`);
      },
    },
  });

  flagFields(network.command("update"), NETWORK_FIELDS)
    .description("change a network's cidr or mtu (no VMs attached), seed, labels")
    .argument("<network>", "id or name")
    .option("--cidr <cidr>", "its IPv4 network")
    .option("--mtu <bytes>", "MTU of its links", parseIntArg("--mtu", MTU))
    .option("--seed <n>", SEED_HELP, parseIntArg("--seed", [0, SEED_MAX]))
    .option("--no-seed", "clear the seed: the choices stop repeating (a fresh seed, at once)")
    .option("--label <key=value>", "label (repeatable; replaces all labels)", collect)
    .action(async (ref, o) => {
      const client = await ctx.client();
      const cur = await client.getNetwork(ref);
      const n = await client.updateNetwork({
        ref,
        meta: o.label ? { labels: parseKeyValues("--label", o.label) } : undefined,
        spec: {
          cidr: o.cidr ?? cur.spec!.cidr,
          mtu: o.mtu ?? cur.spec!.mtu,
          link_qos: merge(cur.spec!.link_qos, {}),
          seed: o.seed === false ? null : o.seed ?? cur.spec!.seed,
        },
      });
      ctx.print(render(ctx.format(), n, () => formatNetwork(n)));
    });

  const qos = flagFields(network.command("qos"), {
    ...qosFlagFields("spec.link_qos"),
    ...qosFlagFields("spec.network_interfaces[].link_qos"),
    ...qosFlagFields("spec.network_interfaces[].receive_link_qos"),
  })
    .description("change link impairment live: the network's defaults, or one VM's link (--vm)")
    .argument("<network>", "id or name")
    .option("--vm <vm>", "only this VM's link(s) on the network")
    .option("--reset", "clear what was set before (the network's: to none; a VM's: inherit)")
    .option("--receive", "with --vm: set what the VM receives instead of what it sends");
  qosOptions(qos)
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim network qos wan --latency 80ms --jitter 10ms\n" +
        "  infrasim network qos wan --vm client --loss 5%\n" +
        "  infrasim network qos wan --vm client --receive --rate 2mbit\n" +
        "  infrasim network qos wan --reset\n" +
        QOS_HELP,
    )
    .action(async (ref, o) => {
      const add = qosFromFlags(o as QosFlags);
      if (o.receive && !o.vm) {
        throw new UsageError("--receive: needs --vm (a network sets what VMs send)");
      }
      const client = await ctx.client();
      const net = await client.getNetwork(ref);
      if (!o.vm) {
        const spec = { ...net.spec!, link_qos: merge(o.reset ? {} : net.spec!.link_qos, add) };
        const n = await client.updateNetwork({ ref: net.meta!.id, spec });
        return ctx.print(render(ctx.format(), n, () => formatNetwork(n)));
      }
      const vm = await client.getVm(o.vm);
      const on = interfacesOn(vm, net, o.vm);
      const key = o.receive ? "receive_link_qos" : "link_qos";
      const network_interfaces = vm.spec!.network_interfaces.map((n, i) =>
        on.includes(i) ? { ...n, [key]: merge(o.reset ? {} : n[key], add) } : n
      );
      await client.updateVm({ ref: vm.meta!.id, spec: { ...vm.spec!, network_interfaces } });
      const n = await client.getNetwork(net.meta!.id);
      ctx.print(render(ctx.format(), n, () => formatNetwork(n)));
    });

  captureCommand(network, ctx);

  flagFields(network.command("link"), { "spec.network_interfaces": "--vm" })
    .description("pull a VM's cable on the network (down) or plug it back (up), live")
    .argument("<network>", "id or name")
    .argument("<state>", "up or down")
    .option("--vm <vm[:nic]>", "the VM (required); :nic picks one of its interfaces by index")
    .addHelpText(
      "after",
      "\nDown drops every frame both ways (counted as down drops) and the guest sees no\n" +
        "carrier; the VM keeps running.\n\nExamples:\n  infrasim network link wan down --vm client\n" +
        "  infrasim network link wan up --vm router:1",
    )
    .action(async (ref, state, o) => {
      if (state !== "up" && state !== "down") {
        throw new UsageError(
          `<state>: must be up or down (got ${JSON.stringify(state.slice(0, 20))})`,
        );
      }
      if (!o.vm) throw new UsageError("required option '--vm <vm[:nic]>' not specified");
      const { vm: vmRef, interface: nic } = parseVmLink(o.vm);
      const client = await ctx.client();
      const net = await client.getNetwork(ref);
      const vm = await client.getVm(vmRef);
      const on = interfacesOn(vm, net, vmRef, nic);
      const network_interfaces = vm.spec!.network_interfaces.map((n, i) =>
        on.includes(i) ? { ...n, link_state: state } : n
      );
      await client.updateVm({ ref: vm.meta!.id, spec: { ...vm.spec!, network_interfaces } });
      const n = await client.getNetwork(net.meta!.id);
      ctx.print(render(ctx.format(), n, () => formatNetwork(n)));
    });

  network.command("counters")
    .description(
      "the link engine's counters: frames, bytes and drops by cause, per link and direction",
    )
    .argument("<network>", "id or name")
    .addHelpText(
      "after",
      "\nExamples:\n  infrasim network counters wan\n  infrasim network counters wan -o json",
    )
    .action(async (ref) => {
      const c = await (await ctx.client()).getNetworkCounters({ ref });
      ctx.print(render(ctx.format(), c, () => formatCounters(c)));
    });
}

/** The indexes of a VM's interfaces on a network (just `nic` if given); none is a usage error. */
function interfacesOn(vm: T.Vm, net: T.Network, vmRef: string, nic?: number): number[] {
  const on = vm.status!.links.map((l, i) => l.network_id === net.meta!.id ? i : -1)
    .filter((i) => i >= 0 && (nic === undefined || i === nic));
  if (on.length === 0) {
    throw new UsageError(
      `--vm: vm ${vmRef} has no interface${nic === undefined ? "" : ` ${nic}`} on network ${
        net.meta!.name
      }`,
    );
  }
  return on;
}
