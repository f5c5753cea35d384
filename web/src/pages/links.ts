/// <reference lib="dom" />
// A VM's links to private networks: their effective impairment, live down/up, and a
// small editor for the fields most labs set (latency, jitter, loss, rate). Every change
// is the VM's UpdateVm with the generation it was read at, so a concurrent change wins
// an error, not a silent overwrite.
import { create } from "@bufbuild/protobuf";
import { type LinkQos, LinkQosSchema } from "../../../src/api/gen/es/infrasim/v1/network_pb.ts";
import {
  type NetworkInterface,
  NetworkInterfaceSchema,
  type Vm,
} from "../../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import { api } from "../api.ts";
import { badge, h, table } from "../dom.ts";
import type { alertLine } from "../live.ts";

type Alert = ReturnType<typeof alertLine>;

/** "20ms ±5ms, 1% loss, 10 Mbit/s": what a link does to frames, or "no impairment". */
export function qosText(q?: LinkQos): string {
  if (!q) return "";
  const parts: string[] = [];
  if (q.latencyMs) parts.push(`${q.latencyMs}ms${q.jitterMs ? ` ±${q.jitterMs}ms` : ""}`);
  if (q.lossPercent) parts.push(`${q.lossPercent}% loss`);
  if (q.duplicatePercent) parts.push(`${q.duplicatePercent}% dup`);
  if (q.corruptPercent) parts.push(`${q.corruptPercent}% corrupt`);
  if (q.reorderPercent) parts.push(`${q.reorderPercent}% reorder`);
  if (q.rateKbps) {
    const k = Number(q.rateKbps);
    parts.push(k >= 1000 ? `${k / 1000} Mbit/s` : `${k} kbit/s`);
  }
  return parts.join(", ") || "no impairment";
}

/** One interface of a VM changed, through UpdateVm at the generation it was read at. */
function updateInterface(vm: Vm, index: number, change: (n: NetworkInterface) => object) {
  return api.vms.updateVm({
    ref: vm.meta!.id,
    expectedGeneration: vm.meta!.generation,
    spec: {
      ...vm.spec!,
      networkInterfaces: vm.spec!.networkInterfaces.map((n, i) =>
        i === index ? create(NetworkInterfaceSchema, { ...n, ...change(n) }) : n
      ),
    },
  });
}

export const setLinkState = (vm: Vm, index: number, state: "up" | "down") =>
  updateInterface(vm, index, () => ({ linkState: state === "down" ? "down" : "" }));

export const setLinkQos = (vm: Vm, index: number, q: Partial<LinkQos>) =>
  updateInterface(vm, index, (n) => ({ linkQos: create(LinkQosSchema, { ...n.linkQos, ...q }) }));

export const isDown = (vm: Vm, index: number) =>
  vm.spec?.networkInterfaces[index]?.linkState === "down";

export function linkButton(vm: Vm, index: number, alert: Alert): HTMLElement {
  const down = isDown(vm, index);
  const label = down ? "Link up" : "Link down";
  return h("button", {
    "data-key": `link-${vm.meta!.id}-${index}`,
    onclick: () => alert.run(() => setLinkState(vm, index, down ? "up" : "down")),
  }, label);
}

/** The table of a VM's links with a down/up button each. */
export function linkActions(vm: Vm, alert: Alert): HTMLElement {
  return table(
    ["Network", "IP", "MAC", "Impairment", "State", ""],
    (vm.status?.links ?? []).map((l, i) => ({
      href: `#/network/${encodeURIComponent(l.networkName)}`,
      cells: [
        l.networkName,
        l.ip,
        l.mac,
        qosText(l.linkQos),
        badge(isDown(vm, i) ? "down" : l.state || "down"),
        linkButton(vm, i, alert),
      ],
    })),
    "No private-network interfaces.",
  );
}

const FIELDS = [
  ["latencyMs", "Latency (ms)", 1],
  ["jitterMs", "Jitter (ms)", 1],
  ["lossPercent", "Loss (%)", 0.01],
  ["rateKbps", "Rate (kbit/s)", 1],
] as const;

/** A form for the common impairment fields; an empty box leaves its field unset. */
export function qosForm(
  current: LinkQos | undefined,
  save: (q: Partial<LinkQos>) => Promise<unknown>,
  alert: Alert,
): HTMLElement {
  const inputs = FIELDS.map(([key, label, step]) => {
    const v = current?.[key];
    const input = h("input", {
      type: "number",
      min: 0,
      step,
      name: key,
      value: v === undefined || v === null ? "" : String(v),
    });
    return { key, el: h("label", {}, label, input), input };
  });
  return h(
    "form",
    {
      class: "qos",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const q: Partial<LinkQos> = {};
        for (const { key, input } of inputs) {
          const raw = input.value.trim();
          if (raw === "") continue;
          const n = Number(raw);
          // Leave range checks to the daemon: its error names the field.
          (q as Record<string, unknown>)[key] = key === "rateKbps" ? BigInt(Math.round(n)) : n;
        }
        alert.run(() => save(q));
      },
    },
    inputs.map((i) => i.el),
    h("button", { type: "submit" }, "Apply"),
  );
}
