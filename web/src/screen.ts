/// <reference lib="dom" />
// A VM's screen in the page: noVNC over a WebSocket that the daemon bridges to QEMU's
// VNC unix socket in the VM's run directory (no VNC port is ever opened).
import RFB from "@novnc/novnc";
import { h } from "./dom.ts";

export function openScreen(box: HTMLElement, vmId: string): () => void {
  const state = h("p", { class: "console-state", role: "status" }, "connecting…");
  const target = h("div", { class: "screen", "data-vm": vmId });
  box.replaceChildren(state, target);
  const rfb = new RFB(target, `ws://${location.host}/ws/vnc/${encodeURIComponent(vmId)}`);
  rfb.scaleViewport = false; // pixels as the guest draws them; the box scrolls
  rfb.focusOnClick = true;
  rfb.addEventListener("connect", () => (state.textContent = "connected: click to type"));
  rfb.addEventListener("disconnect", () => (state.textContent = "disconnected"));
  return () => {
    try {
      rfb.disconnect();
    } catch { /* already closed */ }
  };
}
