/// <reference lib="dom" />
// The home page: VMs and networks as a graph (Cytoscape.js), one edge per link, labelled
// with its impairment and its live throughput and drops, and coloured by what it does
// (down, dropping, carrying, idle). The graph follows the store; counters are polled
// once a second while the page is open. Positions dragged are kept in this browser.
import cytoscape from "cytoscape";
import type { Vm } from "../../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import { h, table } from "../dom.ts";
import { alertLine, live } from "../live.ts";
import { stateName, store } from "../store.ts";
import { isDown, qosText } from "./links.ts";
import { type LinkRate, RatePoller } from "./rates.ts";
import { linkPanel } from "./link_panel.ts";

const POSITIONS_KEY = "infrasim.topology.positions";

interface Link {
  id: string;
  vm: Vm;
  index: number;
  networkId: string;
}

/** Every VM interface on a known network, keyed by "vmid:index". */
function links(): Link[] {
  const nets = [...store.objects.network.values()];
  const out: Link[] = [];
  for (const vm of store.objects.vm.values()) {
    vm.spec?.networkInterfaces.forEach((ni, index) => {
      const st = vm.status?.links[index];
      const net = nets.find((n) =>
        n.meta!.id === (st?.networkId || ni.network) || n.meta!.name === ni.network
      );
      if (net) out.push({ id: `${vm.meta!.id}:${index}`, vm, index, networkId: net.meta!.id });
    });
  }
  return out;
}

function rateText(r?: LinkRate): string {
  if (!r) return "";
  const bits = r.bitsPerSecond;
  const t = bits >= 1e6 ? `${(bits / 1e6).toFixed(1)} Mbit/s` : `${(bits / 1e3).toFixed(0)} kbit/s`;
  return r.dropsPerSecond > 0 ? `${t}, ${r.dropsPerSecond.toFixed(0)} drops/s` : t;
}

function linkClass(l: Link, r?: LinkRate): string {
  const running = stateName(l.vm.status?.state ?? 0) === "RUNNING";
  if (isDown(l.vm, l.index) || !running) return "down";
  if (r && r.dropsPerSecond > 0) return "dropping";
  if (r && r.bitsPerSecond > 1000) return "busy";
  return "idle";
}

export function topologyPage(root: HTMLElement) {
  const alert = alertLine();
  const graph = h("div", { class: "graph", role: "img", "aria-label": "Topology graph" });
  const side = h("aside", { class: "panel", "aria-label": "Selection" });
  const list = h("section", { "aria-label": "Links" });
  root.append(
    h("h1", {}, "Topology"),
    alert.el,
    h("div", { class: "topology" }, graph, side),
    h("h2", {}, "Links"),
    list,
  );
  const saved = savedPositions();
  // Labels sit on a patch of the page's own background, light or dark.
  const bg = getComputedStyle(document.body).backgroundColor;
  const cy = cytoscape({
    container: graph,
    wheelSensitivity: 0.3,
    minZoom: 0.05,
    maxZoom: 1.5, // a lone node is not drawn as big as the page
    style: [...STYLE, { selector: "edge", style: { "text-background-color": bg } }],
    layout: { name: "preset" },
  });
  let selected = "";
  // Only networks with a link up carry traffic worth asking about.
  const rates = new RatePoller(() =>
    [...store.objects.network.values()]
      .filter((n) => n.status?.attachments.some((a) => a.state === "up"))
      .map((n) => n.meta!.id)
  );

  const select = (id: string) => {
    selected = id;
    paintPanel();
  };
  cy.on("tap", "edge", (e) => select(e.target.id()));
  cy.on("tap", "node", (e) => select(e.target.id()));
  cy.on("dragfree", "node", (e) => {
    saved[e.target.id()] = { ...e.target.position() };
    localStorage.setItem(POSITIONS_KEY, JSON.stringify(saved));
  });

  const sync = () => {
    const want = new Map<string, cytoscape.ElementDefinition>();
    for (const n of store.objects.network.values()) {
      const id = `net:${n.meta!.id}`;
      want.set(id, {
        group: "nodes",
        data: { id, label: `${n.meta!.name}\n${n.spec?.cidr ?? ""}`, kind: "network" },
        classes: `network ${(n.status?.state ?? "").toLowerCase()}`,
      });
    }
    for (const vm of store.objects.vm.values()) {
      const id = `vm:${vm.meta!.id}`;
      const state = stateName(vm.status?.state ?? 0);
      want.set(id, {
        group: "nodes",
        data: { id, label: `${vm.meta!.name}\n${state.toLowerCase()}`, kind: "vm" },
        classes: `vm ${state.toLowerCase()}`,
      });
    }
    for (const l of links()) {
      const r = rates.rate(l.id);
      const qos = qosText(l.vm.status?.links[l.index]?.linkQos);
      const label = [qos, rateText(r)].filter(Boolean).join("\n");
      want.set(l.id, {
        group: "edges",
        data: { id: l.id, source: `vm:${l.vm.meta!.id}`, target: `net:${l.networkId}`, label },
        classes: linkClass(l, r),
      });
    }
    cy.batch(() => {
      cy.elements().forEach((el) => {
        if (!want.has(el.id())) el.remove();
      });
      const added: cytoscape.NodeSingular[] = [];
      for (const [id, def] of want) {
        const el = cy.getElementById(id);
        if (el.empty()) {
          const made = cy.add(def);
          if (def.group === "nodes") added.push(made as unknown as cytoscape.NodeSingular);
        } else {
          el.data(def.data);
          el.classes(def.classes as string);
        }
      }
      place(added);
    });
    // What is drawn, for tests and benchmarks to wait on.
    graph.dataset.nodes = String(cy.nodes().length);
    graph.dataset.edges = String(cy.edges().length);
    paintPanel();
  };

  // A new node goes where it was dragged to before, else beside its network, else on a
  // ring: nothing already on screen moves.
  let ring = 0;
  const place = (nodes: cytoscape.NodeSingular[]) => {
    for (const n of nodes) {
      const keep = saved[n.id()];
      if (keep) {
        n.position(keep);
        continue;
      }
      const net = n.neighborhood("node").nodes().first();
      if (n.data("kind") === "vm" && net.nonempty()) {
        const p = net.position();
        const a = Math.random() * 2 * Math.PI;
        n.position({ x: p.x + 160 * Math.cos(a), y: p.y + 120 * Math.sin(a) });
      } else {
        const a = ring * 0.9;
        const r = 120 + 28 * ring++;
        n.position({ x: r * Math.cos(a), y: r * Math.sin(a) });
      }
    }
    if (nodes.length && cy.nodes().length === nodes.length) cy.fit(undefined, 40);
  };

  // The panel is rebuilt only when what it shows changes (a form, focus and a half-typed
  // value survive the polls); its key says what it holds.
  const show = (key: string, make: () => Node[]) => {
    if (side.dataset.key === key) return;
    side.dataset.key = key;
    side.replaceChildren(...make());
  };
  const paintPanel = () => {
    const el = selected ? cy.getElementById(selected) : undefined;
    const hint = () => [h("p", { class: "empty" }, HINT)];
    if (!el || el.empty()) return show("", hint);
    if (el.isNode()) {
      const [kind, id] = selected.split(/:(.*)/);
      const o = kind === "vm" ? store.objects.vm.get(id) : store.objects.network.get(id);
      const name = o?.meta?.name ?? id;
      return show(`node:${selected}:${name}`, () => [
        h("h2", {}, name),
        h(
          "p",
          {},
          h(
            "a",
            { href: `#/${kind === "vm" ? "vm" : "network"}/${encodeURIComponent(name)}` },
            `Open ${kind === "vm" ? "VM" : "network"} page`,
          ),
        ),
      ]);
    }
    const l = links().find((x) => x.id === selected);
    if (!l) return show("", hint);
    const net = store.objects.network.get(l.networkId)!;
    const key = `link:${l.id}@${l.vm.meta!.generation}:${l.vm.status?.links[l.index]?.state}`;
    if (side.dataset.key === key) {
      side.querySelector(".counters")?.replaceWith(rates.countersTable(l.id));
      return;
    }
    show(key, () => linkPanel(l.vm, l.index, net, alert, rates.countersTable(l.id)));
  };

  const stopList = live(list, () =>
    table(
      ["VM", "Network", "Impairment", "Traffic", "State", ""],
      links().map((l) => {
        const r = rates.rate(l.id);
        return {
          id: l.id,
          cells: [
            l.vm.meta!.name,
            store.objects.network.get(l.networkId)?.meta?.name ?? "",
            qosText(l.vm.status?.links[l.index]?.linkQos),
            rateText(r),
            linkClass(l, r),
            h("button", { "data-key": `sel-${l.id}`, onclick: () => select(l.id) }, "Select"),
          ],
        };
      }),
      "No links: attach a VM to a network (network_interface in Terraform).",
    ));
  const stopSync = store.subscribe(sync);
  rates.onChange = sync;
  rates.start();
  sync();
  return () => {
    stopSync();
    stopList();
    rates.stop();
    cy.destroy();
  };
}

const HINT = "Select a link (or a node) to see it here.";

/** Where nodes were dragged to; anything unreadable in the storage counts as nothing. */
function savedPositions(): Record<string, { x: number; y: number }> {
  try {
    const v = JSON.parse(localStorage.getItem(POSITIONS_KEY) ?? "{}");
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "text-wrap": "wrap",
      "text-valign": "bottom",
      "text-margin-y": 4,
      "font-size": 11,
      color: "#8a93a3",
      width: 28,
      height: 28,
    },
  },
  {
    selector: "node.network",
    style: { shape: "round-rectangle", "background-color": "#4c7bd9", width: 44 },
  },
  { selector: "node.vm", style: { "background-color": "#8a93a3" } },
  { selector: "node.vm.running", style: { "background-color": "#2f9e61" } },
  {
    selector: "node.vm.crashed, node.vm.error, node.network.error",
    style: { "background-color": "#d9534f" },
  },
  {
    selector: "edge",
    style: {
      label: "data(label)",
      "text-wrap": "wrap",
      "font-size": 10,
      color: "#8a93a3",
      "text-background-opacity": 1,
      "text-background-padding": "2px",
      width: 2,
      "line-color": "#9aa3b3",
      "curve-style": "bezier",
    },
  },
  { selector: "edge.busy", style: { "line-color": "#2f9e61", width: 3 } },
  { selector: "edge.dropping", style: { "line-color": "#d9534f", width: 3 } },
  { selector: "edge.down", style: { "line-style": "dashed", "line-color": "#c0c4cc" } },
  { selector: ":selected", style: { "overlay-opacity": 0.15, "overlay-color": "#4c7bd9" } },
];
