/// <reference lib="dom" />
// Live link counters for the topology: the engine counters of each network with a link
// up, polled every 2 s while the page is open and shown, turned into rates per link
// ("vmid:index"). A poll costs the daemon about 2 ms of CPU per network.
import type {
  DirectionCounters,
  LinkCounters,
} from "../../../src/api/gen/es/infrasim/v1/network_pb.ts";
import { api } from "../api.ts";
import { table } from "../dom.ts";

export interface LinkRate {
  bitsPerSecond: number;
  dropsPerSecond: number;
}

const POLL_MS = 2000;

const drops = (d?: DirectionCounters) =>
  d ? Number(d.droppedLoss + d.droppedQueue + d.droppedDown + d.droppedMtu) : 0;

export class RatePoller {
  onChange: () => void = () => {};
  private last = new Map<string, { at: number; bytes: number; drops: number }>();
  private rates = new Map<string, LinkRate>();
  private counters = new Map<string, LinkCounters>();
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;

  constructor(private networks: () => string[]) {}

  start() {
    const tick = async () => {
      const at = performance.now();
      // A hidden tab asks for nothing.
      const refs = document.hidden ? [] : this.networks();
      const all = await Promise.all(
        refs.map((ref) =>
          api.networks.getNetworkCounters({ ref }, { timeoutMs: 5000 }).catch(() => undefined)
        ),
      );
      if (this.stopped) return;
      try {
        this.take(at, all.flatMap((x) => x?.links ?? []));
        this.onChange();
      } finally {
        // A poll that failed to draw does not end the polling.
        this.timer = setTimeout(tick, POLL_MS);
      }
    };
    tick();
  }

  private take(at: number, links: LinkCounters[]) {
    for (const c of links) {
      const id = `${c.vmId}:${c.interface}`;
      const bytes = Number((c.sent?.bytes ?? 0n) + (c.received?.bytes ?? 0n));
      const d = drops(c.sent) + drops(c.received);
      const prev = this.last.get(id);
      if (prev && at > prev.at) {
        const s = (at - prev.at) / 1000;
        this.rates.set(id, {
          bitsPerSecond: Math.max(0, (bytes - prev.bytes) * 8 / s),
          dropsPerSecond: Math.max(0, (d - prev.drops) / s),
        });
      }
      this.last.set(id, { at, bytes, drops: d });
      this.counters.set(id, c);
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  rate(id: string): LinkRate | undefined {
    return this.rates.get(id);
  }

  /** The link's counters both ways, as a table. */
  countersTable(id: string): HTMLElement {
    const c = this.counters.get(id);
    const row = (name: string, d?: DirectionCounters) => ({
      cells: d
        ? [name, d.frames, d.bytes, d.droppedLoss, d.droppedQueue, d.droppedDown, d.queueDepth]
          .map(String)
        : [name, "", "", "", "", "", ""],
    });
    const t = table(
      ["", "Frames", "Bytes", "Lost", "Queue drops", "Down drops", "Queued"],
      c ? [row("Sent", c.sent), row("Received", c.received)] : [],
      "No counters yet (the link engine reports a link once its VM runs).",
    );
    t.classList.add("counters");
    return t;
  }
}
