/// <reference lib="dom" />
// The dashboard: a page served by infrasimd, routed by the URL's hash so the daemon
// serves one shell. Pages render from the live store and re-render when it changes.
import { h } from "./dom.ts";
import { store } from "./store.ts";
import { topologyPage } from "./pages/topology.ts";
import { vmPage, vmsPage } from "./pages/vms.ts";
import { networkPage, networksPage } from "./pages/networks.ts";
import { imagesPage, volumesPage } from "./pages/storage.ts";
import { imagePage, volumePage } from "./pages/stored.ts";
import { eventsPage } from "./pages/events.ts";

/** A page: renders into its element; returns what to do when it is left. */
export type Page = (root: HTMLElement, arg: string) => (() => void) | void;

const ROUTES: Array<{ path: string; title: string; page: Page; nav?: boolean }> = [
  { path: "topology", title: "Topology", page: topologyPage, nav: true },
  { path: "vms", title: "VMs", page: vmsPage, nav: true },
  { path: "vm", title: "VM", page: vmPage },
  { path: "networks", title: "Networks", page: networksPage, nav: true },
  { path: "network", title: "Network", page: networkPage },
  { path: "images", title: "Images", page: imagesPage, nav: true },
  { path: "image", title: "Image", page: imagePage },
  { path: "volumes", title: "Volumes", page: volumesPage, nav: true },
  { path: "volume", title: "Volume", page: volumePage },
  { path: "events", title: "Events", page: eventsPage, nav: true },
];

const main = h("main", { id: "main", tabindex: "-1" });
const status = h("span", { class: "feed", role: "status" });
const nav = h(
  "nav",
  { "aria-label": "Pages" },
  ROUTES.filter((r) => r.nav).map((r) =>
    h("a", { href: `#/${r.path}`, "data-path": r.path }, r.title)
  ),
);
document.body.append(
  h("header", {}, h("a", { class: "brand", href: "#/topology" }, "InfraSim"), nav, status),
  main,
);

let leave: (() => void) | void;

function route() {
  const [, path = "topology", ...rest] = location.hash.split("/");
  const r = ROUTES.find((x) => x.path === path) ?? ROUTES[0];
  leave?.();
  main.replaceChildren();
  for (const a of nav.querySelectorAll("a")) {
    const here = a.dataset.path === r.path || `${a.dataset.path}` === `${r.path}s`;
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  let arg = rest.join("/");
  try {
    arg = decodeURIComponent(arg);
  } catch { /* a stray % in a typed address: take it as written */ }
  document.title = `${arg || r.title} · InfraSim`;
  leave = r.page(main, arg);
}

function showFeed() {
  status.textContent = store.trouble ? `⚠ ${store.trouble}` : store.synced ? "live" : "connecting…";
  status.className = `feed ${store.trouble ? "bad" : store.synced ? "ok" : ""}`;
}

store.subscribe(showFeed);
addEventListener("hashchange", route);
route();
showFeed();
store.run();
