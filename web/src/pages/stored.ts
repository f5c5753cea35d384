/// <reference lib="dom" />
// One image's or one volume's page: every field of its spec and status, live, with its
// actions (a volume's resize; delete for both).
import { type DescMessage, type Message, toJsonString } from "@bufbuild/protobuf";
import { ImageSchema } from "../../../src/api/gen/es/infrasim/v1/image_pb.ts";
import { VolumeSchema } from "../../../src/api/gen/es/infrasim/v1/volume_pb.ts";
import { api } from "../api.ts";
import { h } from "../dom.ts";
import { confirmButton } from "../forms.ts";
import { alertLine, live } from "../live.ts";
import { store } from "../store.ts";
import { resizeButton } from "./storage.ts";

/** A message as the API's JSON, indented: what `infrasim ... get -o json` says too. */
export function jsonView(schema: DescMessage, m: Message): HTMLElement {
  return h("pre", { class: "json" }, toJsonString(schema, m, { prettySpaces: 2 }));
}

const find = <T extends { meta?: { name: string; id: string } }>(m: Map<string, T>, ref: string) =>
  [...m.values()].find((o) => o.meta!.name === ref || o.meta!.id === ref);

export function imagePage(root: HTMLElement, name: string) {
  const alert = alertLine();
  const body = h("div");
  root.append(alert.el, body);
  return live(body, () => {
    const i = find(store.objects.image, name);
    if (!i) return h("h1", {}, name, store.synced ? " (no such image)" : "");
    return [
      h("h1", {}, i.meta!.name),
      h(
        "div",
        { class: "actions" },
        confirmButton("Delete", `Delete image ${i.meta!.name}?`, () =>
          alert.run(async () => {
            await api.images.deleteImage({ ref: i.meta!.id });
            location.hash = "#/images";
          }), "del"),
      ),
      jsonView(ImageSchema, i),
    ];
  });
}

export function volumePage(root: HTMLElement, name: string) {
  const alert = alertLine();
  const body = h("div");
  root.append(alert.el, body);
  return live(body, () => {
    const v = find(store.objects.volume, name);
    if (!v) return h("h1", {}, name, store.synced ? " (no such volume)" : "");
    return [
      h("h1", {}, v.meta!.name),
      h(
        "div",
        { class: "actions" },
        resizeButton(v, alert),
        confirmButton(
          "Delete",
          `Delete volume ${v.meta!.name}? Its data goes with it.`,
          () =>
            alert.run(async () => {
              await api.volumes.deleteVolume({ ref: v.meta!.id });
              location.hash = "#/volumes";
            }),
          "del",
        ),
      ),
      jsonView(VolumeSchema, v),
    ];
  });
}
