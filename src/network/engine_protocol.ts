// What the daemon and a network's link engine say to each other: the engine's whole
// configuration (written to <net dir>/engine.json, and sent live over the control
// socket, one JSON object per line each way) and the figures it reports. Pure types.
import type { Impairment } from "./impair/config.ts";
import type { DirectionCounters } from "./impair/pipeline.ts";

export interface EngineLinkConfig {
  /** Stable id: "<vm id>/<nic index>". */
  id: string;
  /** For people and captures: "<vm name>:nic<i>". */
  name: string;
  /** QEMU's `-netdev stream,server=on` socket; the engine connects to it. */
  socket: string;
  up: boolean;
  /** What the VM sends, before the switch. */
  sent: Impairment;
  /** What the VM receives, after the switch. */
  received: Impairment;
}

export interface EngineConfig {
  network: string;
  mtu: number;
  /** Makes every link's random choices reproducible; absent: a fresh seed per start. */
  seed?: number;
  links: EngineLinkConfig[];
}

export interface DirectionStats extends DirectionCounters {
  queueDepth: number;
}

export interface LinkStats {
  connected: boolean;
  sent: DirectionStats;
  received: DirectionStats;
}

export interface EngineStats {
  links: Record<string, LinkStats>;
  /** How late held frames left their queue, over the recent ones (µs). */
  lateness: { p50: number; p99: number; samples: number };
  /** Frames captures lost because their reader fell behind (never link frames). */
  captureDropped: number;
  rssBytes: number;
  pid: number;
}

/** Where on a link frames are captured: before its impairment, or after. */
export type CapturePoint = "sent" | "delivered";

export interface CaptureRequest {
  op: "capture";
  /** Link ids; every frame of these, at each point. */
  links: string[];
  points: CapturePoint[];
  /** Frames after which the stream ends; 0: until the connection closes. */
  count: number;
  snaplen: number;
}

/**
 * Requests; a capture's reply line is followed by the pcapng stream on the same
 * connection until the count is reached or the client closes it.
 */
export type EngineRequest =
  | { op: "apply"; config: EngineConfig }
  | { op: "stats" }
  /** Stops every link's clock for at most `ms` (up to MAX_HOLD_MS), until "release". */
  | { op: "hold"; ms: number }
  | { op: "release" }
  | CaptureRequest;

/** A hold longer than this is refused: one that is never released must end on its own. */
export const MAX_HOLD_MS = 15 * 60_000;

export type EngineReply =
  | { ok: true; stats?: EngineStats }
  | { ok: false; error: string };

/** File names inside the network's engine directory. */
export const ENGINE_FILES = {
  config: "engine.json",
  control: "ctl.sock",
  pid: "engine.pid",
  log: "engine.log",
} as const;
