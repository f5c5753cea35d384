/// <reference lib="dom" />
// The live state: one Watch stream fills it (every object, then each change), and pages
// render from it. A broken stream resumes from the last resource version it saw; one too
// old to resume lists everything again.
import type { Image } from "../../src/api/gen/es/infrasim/v1/image_pb.ts";
import type { Network } from "../../src/api/gen/es/infrasim/v1/network_pb.ts";
import { type Vm, VmState } from "../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import type { Volume } from "../../src/api/gen/es/infrasim/v1/volume_pb.ts";
import { type Snapshot, SnapshotState } from "../../src/api/gen/es/infrasim/v1/snapshot_pb.ts";
import type { Checkpoint } from "../../src/api/gen/es/infrasim/v1/checkpoint_pb.ts";
import { EventType, type WatchEvent } from "../../src/api/gen/es/infrasim/v1/events_pb.ts";
import { api, Code, ConnectError, errorText } from "./api.ts";

export interface Objects {
  vm: Map<string, Vm>;
  image: Map<string, Image>;
  volume: Map<string, Volume>;
  network: Map<string, Network>;
  snapshot: Map<string, Snapshot>;
  checkpoint: Map<string, Checkpoint>;
}

export interface LoggedEvent {
  at: Date;
  type: string;
  kind: string;
  name: string;
  id: string;
  rv: bigint;
  detail: string;
}

const MAX_EVENTS = 1000;

export class LiveStore {
  readonly objects: Objects = {
    vm: new Map(),
    image: new Map(),
    volume: new Map(),
    network: new Map(),
    snapshot: new Map(),
    checkpoint: new Map(),
  };
  readonly events: LoggedEvent[] = [];
  synced = false;
  /** "" while the stream is up, else why not. */
  trouble = "";
  private rv = 0n;
  private listeners = new Set<() => void>();
  private pending = false;

  /** Calls `fn` after each batch of changes; returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async run(): Promise<never> {
    for (;;) {
      // From 0 the daemon lists everything again: what was kept may have been deleted.
      if (this.rv === 0n) {
        for (const m of Object.values(this.objects)) m.clear();
        this.synced = false;
      }
      try {
        for await (const ev of api.watch.watch({ resourceVersion: this.rv })) this.apply(ev);
        this.trouble = "the change feed ended; reconnecting";
      } catch (e) {
        if (e instanceof ConnectError && e.code === Code.OutOfRange) this.rv = 0n; // list again
        this.trouble = errorText(e);
      }
      this.changed();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private apply(ev: WatchEvent) {
    this.trouble = "";
    // Resume only from a complete list: an ADDED's version is its object's, not the feed's.
    if (this.synced || ev.type === EventType.SYNCED) this.rv = ev.resourceVersion;
    if (ev.type === EventType.SYNCED) {
      this.synced = true;
      return this.changed();
    }
    const o = ev.object;
    if (!o.case) return;
    const map = this.objects[o.case] as Map<string, typeof o.value>;
    const meta = o.value.meta!;
    if (ev.type === EventType.DELETED) map.delete(meta.id);
    else map.set(meta.id, o.value);
    if (this.synced) {
      this.events.unshift({
        at: new Date(),
        type: EventType[ev.type],
        kind: ev.kind,
        name: meta.name,
        id: meta.id,
        rv: ev.resourceVersion,
        detail: summary(o),
      });
      if (this.events.length > MAX_EVENTS) this.events.pop();
    }
    this.changed();
  }

  /**
   * Listeners run once per burst of events, not once per event, and not before the
   * initial list is complete: a page draws a large lab once, not object by object.
   */
  private changed() {
    if (this.pending || (!this.synced && !this.trouble)) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      for (const fn of this.listeners) fn();
    }, 0);
  }
}

function summary(o: WatchEvent["object"]): string {
  switch (o.case) {
    case "vm":
      return stateName(o.value.status?.state ?? 0);
    case "network":
      return o.value.status?.state ?? "";
    case "image":
      return o.value.status?.format ?? "";
    case "volume":
      return o.value.status?.attachedToName ? `attached to ${o.value.status.attachedToName}` : "";
    case "checkpoint":
      return `${o.value.status?.vms.length ?? 0} VMs`;
    case "snapshot":
      return `${o.value.status?.vmName ?? ""} ${
        SnapshotState[o.value.status?.state ?? 0].replace("SNAPSHOT_", "")
      }`;
  }
  return "";
}

export const stateName = (s: VmState) => s === VmState.VM_STATE_UNSPECIFIED ? "" : VmState[s];

export const store = new LiveStore();
