/// <reference lib="dom" />
// Images and volumes: live lists with their actions (import with progress, create,
// resize, delete).
import type { Volume } from "../../../src/api/gen/es/infrasim/v1/volume_pb.ts";
import { api } from "../api.ts";
import { bytes, h, table } from "../dom.ts";
import { actionForm, confirmButton, wholeNumber } from "../forms.ts";
import { alertLine, live } from "../live.ts";
import { store } from "../store.ts";

const byName = <T extends { meta?: { name: string } }>(a: T, b: T) =>
  a.meta!.name.localeCompare(b.meta!.name);

export function imagesPage(root: HTMLElement) {
  const alert = alertLine();
  const progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Import" });
  const note = h("span", { class: "muted", role: "status" });
  const form = actionForm(
    [
      { name: "name", label: "Name", required: true, placeholder: "debian-12" },
      {
        name: "source",
        label: "Source",
        required: true,
        placeholder: "/path/on/host.qcow2 or https://…",
      },
      { name: "sha256", label: "SHA-256 (optional)", placeholder: "64 hex digits" },
    ],
    "Import",
    (v, f) =>
      alert.run(async () => {
        progress.hidden = false;
        progress.removeAttribute("value"); // indeterminate until the size is known
        try {
          const req = { meta: { name: v.name }, spec: { source: v.source, sha256: v.sha256 } };
          for await (const p of api.images.importImage(req)) {
            if (p.bytesTotal > 0n) {
              progress.max = Number(p.bytesTotal);
              progress.value = Number(p.bytesDone);
            }
            note.textContent = p.image
              ? `imported ${p.image.meta?.name}`
              : bytes(Number(p.bytesDone));
          }
          f.reset();
        } finally {
          progress.hidden = true;
        }
      }),
  );
  const body = h("div");
  root.append(h("h1", {}, "Images"), form, h("p", {}, progress, " ", note), alert.el, body);
  return live(body, () =>
    table(
      ["Name", "Format", "Virtual size", "Stored", "Digest", "Source", ""],
      [...store.objects.image.values()].sort(byName).map((i) => ({
        id: i.meta!.id,
        href: `#/image/${encodeURIComponent(i.meta!.name)}`,
        cells: [
          i.meta!.name,
          i.status?.format,
          bytes(Number(i.status?.virtualSizeBytes ?? 0)),
          bytes(Number(i.status?.actualSizeBytes ?? 0)),
          h("code", {}, (i.status?.digest ?? "").slice(0, 19)),
          i.spec?.source,
          confirmButton(
            "Delete",
            `Delete image ${i.meta!.name}?`,
            () => alert.run(() => api.images.deleteImage({ ref: i.meta!.id })),
            `del-${i.meta!.id}`,
          ),
        ],
      })),
      store.synced
        ? "No images: import one above, or `infrasim image import NAME PATH`."
        : "Loading…",
    ));
}

export function volumesPage(root: HTMLElement) {
  const alert = alertLine();
  const body = h("div");
  const formBox = h("div");
  root.append(h("h1", {}, "Volumes"), formBox, alert.el, body);
  // The image choices follow the store; the form is rebuilt only when they change.
  let choices = "";
  const paintForm = () => {
    const images = [...store.objects.image.values()].sort(byName);
    const key = images.map((i) => i.meta!.id).join();
    if (key === choices && formBox.firstChild) return; // keep what is being typed
    choices = key;
    formBox.replaceChildren(actionForm(
      [
        { name: "name", label: "Name", required: true, placeholder: "data" },
        {
          name: "image",
          label: "Base image",
          options: [
            ["", "blank"],
            ...images.map((i): [string, string] => [i.meta!.name, i.meta!.name]),
          ],
        },
        { name: "size", label: "Size (GiB)", type: "number", placeholder: "blank: required" },
      ],
      "Create",
      (v, f) =>
        alert.run(async () => {
          await api.volumes.createVolume({
            meta: { name: v.name },
            spec: { image: v.image, sizeGb: wholeNumber("size", v.size || "0") },
          });
          f.reset();
        }),
    ));
  };
  paintForm();
  const stopForm = store.subscribe(paintForm);
  const stop = live(body, () =>
    table(
      ["Name", "Size", "Base image", "Attached to", "", ""],
      [...store.objects.volume.values()].sort(byName).map((v) => ({
        id: v.meta!.id,
        href: `#/volume/${encodeURIComponent(v.meta!.name)}`,
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
          resizeButton(v, alert),
          confirmButton(
            "Delete",
            `Delete volume ${v.meta!.name}? Its data goes with it.`,
            () => alert.run(() => api.volumes.deleteVolume({ ref: v.meta!.id })),
            `del-${v.meta!.id}`,
          ),
        ],
      })),
      store.synced ? "No volumes: create one above, or `infrasim volume create`." : "Loading…",
    ));
  return () => {
    stop();
    stopForm();
  };
}

/** Grows a volume to the size asked in a prompt (GiB; never smaller). */
export function resizeButton(v: Volume, alert: ReturnType<typeof alertLine>): HTMLElement {
  return h("button", {
    "data-key": `grow-${v.meta!.id}`,
    onclick: () => {
      const gib = Number(v.status?.sizeBytes ?? 0n) / 2 ** 30;
      const to = prompt(`New size of ${v.meta!.name} in GiB (now ${gib}; growing only)`);
      if (!to) return;
      alert.run(() =>
        api.volumes.updateVolume({
          ref: v.meta!.id,
          spec: { ...v.spec!, sizeGb: wholeNumber("size", to) },
        })
      );
    },
  }, "Resize");
}
