// The daemon's Prometheus metrics (prom-client): what runs, what it costs, and how the API
// is used. Gauges and counters of things outside the daemon (QEMU's CPU time, disk and
// link counters) are read when a scrape asks, each read bounded; what happens inside it
// (boots, crashes, API calls) is counted as it happens. Names follow Prometheus's rules:
// base units, `_total` on counters.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { StoredVm } from "../../store/vm_store.ts";
import type { StoredNetwork } from "../../store/network_store.ts";
import type { Change } from "../../store/feed.ts";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type {
  DirectionStats,
  EngineLinkConfig,
  EngineStats,
} from "../../network/engine_protocol.ts";
import { processUsage, type Usage } from "../../process/usage.ts";
import { VM } from "../contracts.ts";
import { blockStats, type DiskStats } from "./blockstats.ts";
import type { VmRuntime } from "../../qemu/runtime.ts";

/** What the metrics read, from the stores and the running parts (built in compose.ts). */
export interface MetricSources {
  vms(): StoredVm[];
  runtime(vmId: string): VmRuntime | undefined;
  networks(): StoredNetwork[];
  engineStats(networkId: string): Promise<EngineStats | undefined>;
  carried(networkId: string): EngineLinkConfig[];
  /** Hears every committed change; returns the unsubscribe. */
  subscribe(l: (c: Change) => void): () => void;
}

/**
 * One read shared by the metrics of a scrape: a call within a second of the last one
 * gets its result (the registry collects each metric in turn).
 */
function perScrape<R>(read: () => Promise<R>): () => Promise<R> {
  let last: { at: number; p: Promise<R> } | undefined;
  return () => {
    if (!last || performance.now() - last.at > 1000) last = { at: performance.now(), p: read() };
    return last.p;
  };
}

const VM_STATES: T.VmState[] = [
  "PENDING",
  "STARTING",
  "RUNNING",
  "STOPPING",
  "STOPPED",
  "CRASHED",
  "ERROR",
];
const DROP_CAUSES = { loss: "dropLoss", queue: "dropQueue", down: "dropDown", mtu: "dropMtu" };

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #api: Counter<"method" | "code">;
  readonly #apiSeconds: Histogram<"method">;
  readonly #unsubscribe: () => void;

  constructor(private readonly src: MetricSources) {
    const registers = [this.registry];
    new Gauge({
      name: "infrasim_vms",
      help: "VMs by state.",
      labelNames: ["state"],
      registers,
      collect() {
        const n = Object.fromEntries(VM_STATES.map((s) => [s, 0]));
        for (const vm of src.vms()) {
          n[String(vm.status.state)] = (n[String(vm.status.state)] ?? 0) + 1;
        }
        for (const [state, count] of Object.entries(n)) this.set({ state }, count);
      },
    });
    // One read of every running QEMU's usage per scrape, shared by the two metrics.
    const usageOnce = perScrape(() => this.#usage());
    new Counter({
      name: "infrasim_vm_cpu_seconds_total",
      help: "CPU time (user and system) of each running VM's QEMU process.",
      labelNames: ["vm", "vm_id"],
      registers,
      async collect() {
        const usage = await usageOnce();
        this.reset(); // after the await: a scrape running beside this one cannot add twice
        for (const [id, [vm, u]] of usage) this.inc({ vm: vm.meta.name, vm_id: id }, u.cpuSeconds);
      },
    });
    new Gauge({
      name: "infrasim_vm_resident_memory_bytes",
      help: "Resident memory of each running VM's QEMU process.",
      labelNames: ["vm", "vm_id"],
      registers,
      async collect() {
        const usage = await usageOnce();
        this.reset();
        for (const [id, [vm, u]] of usage) this.set({ vm: vm.meta.name, vm_id: id }, u.rssBytes);
      },
    });
    this.#diskMetrics(registers);
    this.#linkMetrics(registers);
    const boot = new Histogram({
      name: "infrasim_vm_boot_seconds",
      help: "From a VM's start to its readiness (wait_for), as the daemon saw them.",
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    });
    const crashes = new Counter({
      name: "infrasim_qemu_crashes_total",
      help: "QEMU processes that exited without being asked to.",
      registers,
    });
    this.#api = new Counter({
      name: "infrasim_api_requests_total",
      help: "API calls by method and status code.",
      labelNames: ["method", "code"],
      registers,
    });
    this.#apiSeconds = new Histogram({
      name: "infrasim_api_request_duration_seconds",
      help: "API call latency by method (a stream: until it ends).",
      labelNames: ["method"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    new Counter({
      name: "infrasimd_cpu_seconds_total",
      help: "CPU time of the daemon itself.",
      registers,
      async collect() {
        const u = await processUsage(process.pid);
        this.reset();
        this.inc(u.cpuSeconds);
      },
    });
    new Gauge({
      name: "infrasimd_resident_memory_bytes",
      help: "Resident memory of the daemon itself.",
      registers,
      async collect() {
        this.set((await processUsage(process.pid)).rssBytes);
      },
    });
    // What each VM was when the daemon started: a boot seen before is not counted again.
    const seen = new Map<string, { state: string; readyFor: string }>(
      src.vms().map((vm) => [vm.meta.id, {
        state: String(vm.status.state),
        readyFor: vm.status.ready ? vm.status.started_at : "",
      }]),
    );
    this.#unsubscribe = src.subscribe((c) => {
      if (c.kind !== VM) return;
      const vm = c.object as StoredVm;
      const id = vm.meta.id, was = seen.get(id);
      if (c.type === "DELETED") return void seen.delete(id);
      const state = String(vm.status.state);
      if (state === "CRASHED" && was?.state !== "CRASHED") crashes.inc();
      let readyFor = was?.readyFor ?? "";
      if (vm.status.ready && vm.status.ready_at && vm.status.started_at !== readyFor) {
        readyFor = vm.status.started_at;
        const s = (Date.parse(vm.status.ready_at) - Date.parse(vm.status.started_at)) / 1000;
        if (Number.isFinite(s) && s >= 0) boot.observe(s);
      }
      seen.set(id, { state, readyFor });
    });
  }

  /** One finished API call (gRPC code as its name, e.g. OK, NOT_FOUND). */
  apiCall(method: string, code: string, seconds: number): void {
    this.#api.inc({ method, code });
    this.#apiSeconds.observe({ method }, seconds);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.#unsubscribe();
  }

  async #usage(): Promise<Map<string, [StoredVm, Usage]>> {
    const out = new Map<string, [StoredVm, Usage]>();
    await Promise.all(
      this.src.vms().filter((vm) => vm.status.pid > 0).map(async (vm) => {
        // A QEMU that exits meanwhile has no figures: it is left out of this scrape.
        const u = await processUsage(vm.status.pid).catch(() => undefined);
        if (u) out.set(vm.meta.id, [vm, u]);
      }),
    );
    return out;
  }

  #diskMetrics(registers: Registry[]): void {
    const src = this.src;
    const statsOnce = perScrape(() =>
      Promise.all(
        src.vms().filter((vm) => src.runtime(vm.meta.id)).map(async (vm) =>
          [vm, await blockStats(src.runtime(vm.meta.id)!).catch(() => [])] as [
            StoredVm,
            DiskStats[],
          ]
        ),
      )
    );
    const fields = [
      ["infrasim_vm_disk_read_bytes_total", "Bytes read by each VM disk.", "readBytes"],
      ["infrasim_vm_disk_written_bytes_total", "Bytes written by each VM disk.", "writtenBytes"],
      ["infrasim_vm_disk_reads_total", "Read operations of each VM disk.", "reads"],
      ["infrasim_vm_disk_writes_total", "Write operations of each VM disk.", "writes"],
    ] as const;
    for (const [name, help, key] of fields) {
      new Counter({
        name,
        help,
        labelNames: ["vm", "vm_id", "device"],
        registers,
        async collect() {
          const stats = await statsOnce();
          this.reset();
          for (const [vm, disks] of stats) {
            for (const d of disks) {
              this.inc({ vm: vm.meta.name, vm_id: vm.meta.id, device: d.device }, d[key]);
            }
          }
        },
      });
    }
  }

  #linkMetrics(registers: Registry[]): void {
    const src = this.src;
    type Row = { labels: Record<string, string>; d: DirectionStats };
    const rowsOnce = perScrape(() =>
      Promise.all(
        src.networks().map(async (n) => {
          const st = await src.engineStats(n.meta.id);
          if (!st) return [];
          const names = new Map(src.carried(n.meta.id).map((l) => [l.id, l.name]));
          return Object.entries(st.links).flatMap(([id, l]) =>
            (["sent", "received"] as const).map((direction) => ({
              labels: { network: n.meta.name, link: names.get(id) ?? id, direction },
              d: l[direction],
            }))
          );
        }),
      ).then((r): Row[] => r.flat())
    );
    const counter = (name: string, help: string, value: (d: DirectionStats) => number) =>
      new Counter({
        name,
        help,
        labelNames: ["network", "link", "direction"],
        registers,
        async collect() {
          const rows = await rowsOnce();
          this.reset();
          for (const r of rows) this.inc(r.labels, value(r.d));
        },
      });
    counter(
      "infrasim_link_frames_total",
      "Frames a link forwarded, by direction.",
      (d) => d.frames,
    );
    counter("infrasim_link_bytes_total", "Bytes a link forwarded, by direction.", (d) => d.bytes);
    new Counter({
      name: "infrasim_link_dropped_frames_total",
      help: "Frames a link dropped, by direction and cause (loss, queue, down, mtu).",
      labelNames: ["network", "link", "direction", "cause"],
      registers,
      async collect() {
        const rows = await rowsOnce();
        this.reset();
        for (const r of rows) {
          for (const [cause, key] of Object.entries(DROP_CAUSES)) {
            this.inc({ ...r.labels, cause }, r.d[key as keyof typeof r.d] as number);
          }
        }
      },
    });
    new Gauge({
      name: "infrasim_link_queue_frames",
      help: "Frames waiting in a link's impairment queue now.",
      labelNames: ["network", "link", "direction"],
      registers,
      async collect() {
        const rows = await rowsOnce();
        this.reset();
        for (const r of rows) this.set(r.labels, r.d.queueDepth);
      },
    });
  }
}
