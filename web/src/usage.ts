/// <reference lib="dom" />
// A running VM's CPU and memory as two small live charts (uPlot): its QEMU process as
// the host sees it, sampled every 2 s while the page is open, the last 5 minutes kept.
import uPlot from "uplot";
import { api, errorText } from "./api.ts";
import { h } from "./dom.ts";

const EVERY_MS = 2000;
const KEEP = 150;

export function openUsage(box: HTMLElement, vmId: string): () => void {
  const note = h("p", { class: "muted", role: "status" });
  const cpuBox = h("div", { class: "chart", "aria-label": "CPU" });
  const memBox = h("div", { class: "chart", "aria-label": "Memory" });
  box.replaceChildren(h("div", { class: "charts" }, cpuBox, memBox), note);
  const t: number[] = [], cpu: number[] = [], mem: number[] = [];
  const opts = (title: string, label: string): uPlot.Options => ({
    title,
    width: 420,
    height: 160,
    series: [{}, { label, stroke: "#4c7bd9", width: 2, fill: "rgba(76,123,217,0.12)" }],
    axes: [{ stroke: "#8a93a3" }, { stroke: "#8a93a3", size: 60 }],
    legend: { show: false },
    scales: {
      // A steady five-minute window, however few samples there are yet.
      x: { time: true, range: (_u, _min, max) => [max - KEEP * EVERY_MS / 1000, max] },
      y: { range: (_u, _min, max) => [0, Math.max(max, 1)] },
    },
    cursor: { show: false },
  });
  const cpuPlot = new uPlot(opts("CPU (% of one core)", "CPU"), [t, cpu], cpuBox);
  const memPlot = new uPlot(opts("Memory (MiB resident)", "MiB"), [t, mem], memBox);
  let last: { at: number; cpu: number } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      const u = await api.vms.getVmUsage({ ref: vmId });
      const at = Date.parse(u.sampledAt) / 1000;
      if (last && at > last.at) {
        t.push(at);
        cpu.push(Math.max(0, (u.cpuSeconds - last.cpu) / (at - last.at) * 100));
        mem.push(Number(u.residentMemoryBytes) / 2 ** 20);
        if (t.length > KEEP) [t, cpu, mem].forEach((a) => a.shift());
        cpuPlot.setData([t, cpu]);
        memPlot.setData([t, mem]);
        note.textContent = `${cpu.at(-1)!.toFixed(0)}% CPU, ${mem.at(-1)!.toFixed(0)} MiB`;
      }
      last = { at, cpu: u.cpuSeconds };
    } catch (e) {
      note.textContent = errorText(e);
    }
    if (!stopped) timer = setTimeout(tick, EVERY_MS);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    cpuPlot.destroy();
    memPlot.destroy();
  };
}
