/// <reference lib="dom" />
// A VM's serial console in the page: xterm.js over a WebSocket that the daemon bridges
// to the same serial fan-out as `infrasim vm console`. The daemon first replays the
// recent output, then streams; what is typed goes to the guest as is.
import { Terminal } from "@xterm/xterm";
import { h } from "./dom.ts";

export function openConsole(box: HTMLElement, vmId: string): () => void {
  const state = h("p", { class: "console-state", role: "status" }, "connecting…");
  const screen = h("div", { class: "console-screen", "data-vm": vmId });
  box.replaceChildren(state, screen);
  const term = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontSize: 13,
    rows: 24,
    cols: 100,
    scrollback: 5000,
    theme: matchMedia("(prefers-color-scheme: dark)").matches
      ? { background: "#111418", foreground: "#d8dee9" }
      : { background: "#fbfbfc", foreground: "#1d2430", cursor: "#1d2430" },
  });
  term.open(screen);
  const ws = new WebSocket(`ws://${location.host}/ws/console/${encodeURIComponent(vmId)}`);
  ws.binaryType = "arraybuffer";
  const enc = new TextEncoder();
  ws.onopen = () => (state.textContent = "attached: type to talk to the guest");
  ws.onmessage = (e) => term.write(new Uint8Array(e.data as ArrayBuffer));
  ws.onclose = (e) => (state.textContent = `detached${e.reason ? `: ${e.reason}` : ""}`);
  const input = term.onData((d) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    // A large paste goes in frames the daemon accepts (it refuses frames over 64 KiB).
    const bytes = enc.encode(d);
    for (let i = 0; i < bytes.length; i += 16 * 1024) ws.send(bytes.subarray(i, i + 16 * 1024));
  });
  return () => {
    input.dispose();
    ws.close(1000, "left the page");
    term.dispose();
  };
}
