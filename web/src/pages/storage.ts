/// <reference lib="dom" />
// Images and volumes: live lists of what is stored.
import { bytes, h, table } from "../dom.ts";
import { live } from "../live.ts";
import { store } from "../store.ts";

const byName = <T extends { meta?: { name: string } }>(a: T, b: T) =>
  a.meta!.name.localeCompare(b.meta!.name);

export function imagesPage(root: HTMLElement) {
  const body = h("div");
  root.append(h("h1", {}, "Images"), body);
  return live(body, () =>
    table(
      ["Name", "Format", "Virtual size", "Stored", "Digest", "Source"],
      [...store.objects.image.values()].sort(byName).map((i) => ({
        id: i.meta!.id,
        cells: [
          i.meta!.name,
          i.status?.format,
          bytes(Number(i.status?.virtualSizeBytes ?? 0)),
          bytes(Number(i.status?.actualSizeBytes ?? 0)),
          h("code", {}, (i.status?.digest ?? "").slice(0, 19)),
          i.spec?.source,
        ],
      })),
      store.synced ? "No images: `infrasim image import NAME PATH`." : "Loading…",
    ));
}

export function volumesPage(root: HTMLElement) {
  const body = h("div");
  root.append(h("h1", {}, "Volumes"), body);
  return live(body, () =>
    table(
      ["Name", "Size", "Base image", "Attached to"],
      [...store.objects.volume.values()].sort(byName).map((v) => ({
        id: v.meta!.id,
        cells: [
          v.meta!.name,
          bytes(Number(v.status?.sizeBytes ?? 0)),
          store.objects.image.get(v.status?.imageId ?? "")?.meta?.name ??
            (v.spec?.image || "blank"),
          v.status?.attachedToName
            ? h(
              "a",
              { href: `#/vm/${encodeURIComponent(v.status.attachedToName)}` },
              v.status.attachedToName,
            )
            : "",
        ],
      })),
      store.synced ? "No volumes: `infrasim volume create NAME --size 10`." : "Loading…",
    ));
}
