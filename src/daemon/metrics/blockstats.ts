// A running VM's disk counters from QMP `query-blockstats`, for the metrics.
import type { VmRuntime } from "../../qemu/runtime.ts";

export interface DiskStats {
  /** The drive's id, else its device path in QEMU, else its node name. */
  device: string;
  readBytes: number;
  writtenBytes: number;
  reads: number;
  writes: number;
}

interface QmpBlockStats {
  device?: string;
  qdev?: string;
  "node-name"?: string;
  stats?: { rd_bytes?: number; wr_bytes?: number; rd_operations?: number; wr_operations?: number };
}

/** The disks of a `query-blockstats` reply that carry counters. Pure. */
export function parseBlockStats(reply: unknown): DiskStats[] {
  if (!Array.isArray(reply)) return [];
  return (reply as QmpBlockStats[]).filter((b) => b.stats).map((b) => ({
    device: b.device || b.qdev || b["node-name"] || "?",
    readBytes: b.stats!.rd_bytes ?? 0,
    writtenBytes: b.stats!.wr_bytes ?? 0,
    reads: b.stats!.rd_operations ?? 0,
    writes: b.stats!.wr_operations ?? 0,
  }));
}

export async function blockStats(rt: VmRuntime): Promise<DiskStats[]> {
  return parseBlockStats(await rt.qmp.execute("query-blockstats", undefined, 2000));
}
