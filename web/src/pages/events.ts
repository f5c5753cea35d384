/// <reference lib="dom" />
// Events: the Watch stream as it arrives, newest first, filtered by kind, type or name.
import { h, table } from "../dom.ts";
import { live } from "../live.ts";
import { store } from "../store.ts";

export function eventsPage(root: HTMLElement) {
  const filter = h("input", {
    type: "search",
    placeholder: "Filter: kind, type or name",
    "aria-label": "Filter events",
  });
  const body = h("div");
  root.append(h("h1", {}, "Events"), filter, body);
  const stop = live(body, () => {
    const f = filter.value.trim().toLowerCase();
    const rows = store.events.filter((e) =>
      !f || `${e.kind} ${e.type} ${e.name} ${e.detail}`.toLowerCase().includes(f)
    );
    return table(
      ["Time", "Type", "Kind", "Name", "Detail", "Version"],
      rows.slice(0, 300).map((e) => ({
        cells: [
          e.at.toLocaleTimeString(),
          e.type,
          e.kind,
          e.name,
          e.detail,
          String(e.rv),
        ],
      })),
      "No changes since this page opened.",
    );
  });
  filter.addEventListener("input", () => stop.paint());
  return stop;
}
