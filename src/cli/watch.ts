// Following the daemon's change feed from the CLI: `infrasim events`, `<kind> list
// --watch` and `vm wait --for`. A watch that the daemon cuts off (too slow) resumes from
// the last version seen; one whose daemon goes away (a restart) is resumed once it is
// back, for up to a minute; one whose version is no longer kept lists again. Ctrl-C ends
// it quietly.
import { stringify as toYaml } from "yaml";
import type { DeepPartial, InfrasimClient } from "../api/client.ts";
import { ApiError, Status } from "../api/errors.ts";
import type * as T from "../api/gen/infrasim.v1.ts";
import type { Ctx } from "./context.ts";
import type { OutputFormat } from "./output.ts";

/** How long a watch waits for a daemon that went away to come back. */
const REDIAL_FOR_MS = 60_000;

export interface Following {
  done: Promise<void>;
  stop(): void;
}

/** Where an event stands in the stream of its connection. */
export interface EventPlace {
  /** Part of a list (ADDED for each current object, up to SYNCED), not a change. */
  listing: boolean;
  /** That list is a new one: the changes after the last version seen were not kept. */
  relisted: boolean;
}

/** Streams every event (SYNCED too) to onEvent until stop(). */
export function follow(
  client: InfrasimClient,
  req: DeepPartial<T.WatchRequest>,
  onEvent: (e: T.WatchEvent, place: EventPlace) => void,
): Following {
  let last = Number(req.resource_version ?? 0);
  let stopped = false;
  let cancel = () => {};
  const done = (async () => {
    let relisted = false;
    let downSince = 0;
    while (!stopped) {
      let listing = last === 0;
      const job = client.watch({ ...req, resource_version: last }, (e) => {
        downSince = 0;
        last = Math.max(last, e.resource_version);
        onEvent(e, { listing, relisted });
        if (e.type === "SYNCED") listing = false;
      });
      cancel = job.cancel;
      try {
        await job.done;
        if (stopped) return;
        throw new ApiError(Status.UNAVAILABLE, "the watch ended");
      } catch (e) {
        if (stopped || !(e instanceof ApiError)) throw e;
        if (e.code === Status.RESOURCE_EXHAUSTED) continue; // resume from `last`
        if (e.code === Status.OUT_OF_RANGE) {
          last = 0;
          relisted = true;
          continue;
        }
        if (e.code !== Status.UNAVAILABLE) throw e;
        downSince ||= Date.now();
        if (Date.now() - downSince > REDIAL_FOR_MS) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    done,
    stop: () => {
      stopped = true;
      cancel();
    },
  };
}

export interface WatchOutput {
  /** Print the current objects first (else only what changes from now on). */
  showInitial: boolean;
  /** The initial list, once, as a block of text (undefined: each as a line). */
  initial?: (events: T.WatchEvent[]) => string | undefined;
  line: (e: T.WatchEvent) => string;
  /** Stop after this many printed changes. */
  count?: number;
}

/** Prints events until Ctrl-C (or `count` of them): a listing made live. */
export async function watchLines(
  client: InfrasimClient,
  req: DeepPartial<T.WatchRequest>,
  ctx: Ctx,
  out: WatchOutput,
): Promise<void> {
  let printed = 0;
  let initial: T.WatchEvent[] = [];
  const f = follow(client, req, (e, { listing, relisted }) => {
    if (!listing) return print(e);
    if (e.type !== "SYNCED") return void initial.push(e);
    // A new list after changes were missed is printed: it is what is now.
    if (out.showInitial || relisted) {
      const block = out.initial?.(initial);
      if (block !== undefined) ctx.print(block);
      else initial.forEach(print);
    }
    initial = [];
  });
  function print(e: T.WatchEvent) {
    ctx.print(out.line(e));
    if (out.count && ++printed >= out.count) f.stop();
  }
  const onSigint = () => f.stop();
  process.once("SIGINT", onSigint);
  try {
    await f.done;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** The decoder's markers ("_latency_ms", the oneof's "object": "vm") are not the API's. */
const apiOnly = (k: string, v: unknown) =>
  k.startsWith("_") || (k === "object" && typeof v === "string") ? undefined : v;

/** A record of a watch for machines: one JSON object per line, or a YAML document each. */
export function machineLine(format: OutputFormat, data: unknown): string {
  const plain = JSON.parse(JSON.stringify(data, apiOnly));
  return format === "yaml" ? `---\n${toYaml(plain).trimEnd()}` : JSON.stringify(plain);
}
