/// <reference lib="dom" />
// Private networks: the live list, and one network's page with its default impairment
// (edited live for every link that does not override it) and its attachments.
import { create } from "@bufbuild/protobuf";
import {
  type LinkQos,
  LinkQosSchema,
  type Network,
} from "../../../src/api/gen/es/infrasim/v1/network_pb.ts";
import { api } from "../api.ts";
import { badge, h, table } from "../dom.ts";
import { alertLine, live } from "../live.ts";
import { store } from "../store.ts";
import { qosForm, qosText } from "./links.ts";
import { actionForm, confirmButton } from "../forms.ts";

export function networksPage(root: HTMLElement) {
  const alert = alertLine();
  const body = h("div");
  const form = actionForm(
    [
      { name: "name", label: "Name", required: true, placeholder: "lan" },
      { name: "cidr", label: "CIDR", required: true, placeholder: "10.20.0.0/24" },
    ],
    "Create",
    (v, f) =>
      alert.run(async () => {
        await api.networks.createNetwork({ meta: { name: v.name }, spec: { cidr: v.cidr } });
        f.reset();
      }),
  );
  root.append(h("h1", {}, "Networks"), form, alert.el, body);
  return live(body, () =>
    table(
      ["Name", "State", "CIDR", "MTU", "Impairment", "Attached", ""],
      [...store.objects.network.values()].sort((a, b) => a.meta!.name.localeCompare(b.meta!.name))
        .map((n) => ({
          id: n.meta!.id,
          href: `#/network/${encodeURIComponent(n.meta!.name)}`,
          cells: [
            n.meta!.name,
            badge(n.status?.state ?? ""),
            n.spec?.cidr,
            n.spec?.mtu || 1500,
            qosText(n.spec?.linkQos),
            n.status?.attachments.length ?? 0,
            confirmButton(
              "Delete",
              `Delete network ${n.meta!.name}?`,
              () => alert.run(() => api.networks.deleteNetwork({ ref: n.meta!.id })),
              `del-${n.meta!.id}`,
            ),
          ],
        })),
      store.synced
        ? "No networks: `infrasim network create NAME --cidr 10.20.0.0/24`."
        : "Loading…",
    ));
}

const byName = (name: string) =>
  [...store.objects.network.values()].find((n) => n.meta!.name === name || n.meta!.id === name);

export function networkPage(root: HTMLElement, name: string) {
  const alert = alertLine();
  const head = h("div");
  const form = h("section", { "aria-label": "Default impairment" });
  const body = h("div");
  root.append(head, alert.el, h("h2", {}, "Default impairment"), form, body);
  let formFor = "";
  return live(body, () => {
    const n = byName(name);
    head.replaceChildren(h("h1", {}, name, " ", n ? badge(n.status?.state ?? "") : ""));
    if (!n) return h("p", { class: "empty" }, store.synced ? "No such network." : "Loading…");
    const gen = `${n.meta!.id}@${n.meta!.generation}`;
    if (gen !== formFor) {
      formFor = gen;
      form.replaceChildren(
        h("p", {}, qosText(n.spec?.linkQos)),
        qosForm(n.spec?.linkQos, (q) => saveDefaults(n, q), alert),
      );
    }
    return [
      h(
        "p",
        {},
        `${n.spec?.cidr} · MTU ${n.spec?.mtu || 1500} · engine pid ${
          n.status?.enginePid || "none"
        }`,
      ),
      n.status?.message ? h("p", { class: "alert" }, n.status.message) : "",
      h("h2", {}, "Attachments"),
      table(
        ["VM", "nic", "IP", "MAC", "Impairment", "State"],
        (n.status?.attachments ?? []).map((a) => ({
          href: `#/vm/${encodeURIComponent(a.vmName)}`,
          cells: [a.vmName, a.interface, a.ip, a.mac, qosText(a.linkQos), badge(a.state)],
        })),
        "No VM is attached.",
      ),
    ].filter((x): x is HTMLElement => x !== "");
  });
}

function saveDefaults(n: Network, q: Partial<LinkQos>) {
  return api.networks.updateNetwork({
    ref: n.meta!.id,
    spec: { ...n.spec!, linkQos: create(LinkQosSchema, { ...n.spec?.linkQos, ...q }) },
  });
}
