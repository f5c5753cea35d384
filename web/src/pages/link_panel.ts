/// <reference lib="dom" />
// One link, selected in the topology: its impairment (edited live), down/up, counters,
// and its capture: a pcapng download of N seconds or N frames, or the command that
// streams it into Wireshark.
import type { Network } from "../../../src/api/gen/es/infrasim/v1/network_pb.ts";
import type { Vm } from "../../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import { h } from "../dom.ts";
import type { alertLine } from "../live.ts";
import { linkButton, qosForm, qosText, setLinkQos } from "./links.ts";

export function linkPanel(
  vm: Vm,
  index: number,
  net: Network,
  alert: ReturnType<typeof alertLine>,
  counters: HTMLElement,
): Node[] {
  const vmName = vm.meta!.name;
  const netName = net.meta!.name;
  const link = vm.status?.links[index];
  const amount = h("input", {
    type: "number",
    min: 1,
    value: 10,
    name: "amount",
    "aria-label": "Amount",
  });
  const unit = h(
    "select",
    { name: "unit", "aria-label": "Unit" },
    h("option", { value: "seconds" }, "seconds"),
    h("option", { value: "count" }, "frames"),
  );
  const download = h(
    "a",
    { class: "button", download: `${netName}-${vmName}-nic${index}.pcapng` },
    "Download pcapng",
  );
  const setHref = () => {
    const q = new URLSearchParams({
      network: net.meta!.id,
      vm: vm.meta!.id,
      interface: String(index),
      [unit.value]: amount.value,
    });
    download.setAttribute("href", `/capture?${q}`);
  };
  amount.addEventListener("input", setHref);
  unit.addEventListener("change", setHref);
  setHref();
  return [
    h("h2", {}, `${vmName} ↔ ${netName}`),
    h("p", {}, `nic${index} · ${link?.ip ?? ""} · ${link?.mac ?? ""} · ${link?.state ?? ""}`),
    h("p", { class: "qos-now" }, qosText(link?.linkQos)),
    linkButton(vm, index, alert),
    h("h3", {}, "Impairment"),
    qosForm(vm.spec?.networkInterfaces[index]?.linkQos, (q) => setLinkQos(vm, index, q), alert),
    h("h3", {}, "Counters"),
    counters,
    h("h3", {}, "Capture"),
    h("div", { class: "capture" }, amount, unit, download),
    h("p", {}, "Live, into Wireshark:"),
    h(
      "pre",
      {},
      `infrasim network capture ${netName} --vm ${vmName}:${index} -w - | wireshark -k -i -`,
    ),
  ];
}
