// Following the daemon's change feed from the CLI: `infrasim events`, `<kind> list
// --watch` and `vm wait --for`. A watch that the daemon cuts off (too slow, or it
// restarted) is resumed from the last version seen; one whose version is no longer kept
// lists again. Ctrl-C ends it quietly.
import type { DeepPartial, InfrasimClient } from "../api/client.ts";
import { ApiError, Status } from "../api/errors.ts";
import type * as T from "../api/gen/infrasim.v1.ts";
import type { Ctx } from "./context.ts";

export interface WatchOutput {
  /** Print the current objects first (else only what changes from now on). */
  showInitial: boolean;
  /** The initial list, once, as a block of text (undefined: each as a line). */
  initial?: (events: T.WatchEvent[]) => string | undefined;
  line: (e: T.WatchEvent) => string;
  /** Stop after this many printed changes. */
  count?: number;
}

/**
 * Streams events until Ctrl-C (or `count` changes), printing them. Reconnects after a
 * cut-off from the last version seen.
 */
export async function watchLines(
  client: InfrasimClient,
  req: DeepPartial<T.WatchRequest>,
  ctx: Ctx,
  out: WatchOutput,
): Promise<void> {
  let printed = 0;
  let last = Number(req.resource_version ?? 0);
  let stop: (() => void) | undefined;
  let stopped = false;
  // A version no longer kept lists again, and then the list is printed: changes were missed.
  let relisted = false;
  const onSigint = () => {
    stopped = true;
    stop?.();
  };
  process.once("SIGINT", onSigint);
  try {
    while (!stopped) {
      const initial: T.WatchEvent[] = [];
      let synced = last > 0;
      const print = (e: T.WatchEvent) => {
        if (stopped) return;
        ctx.print(out.line(e));
        if (out.count && ++printed >= out.count) onSigint();
      };
      const job = client.watch({ ...req, resource_version: last }, (e) => {
        if (e.type === "SYNCED") {
          synced = true;
          last = e.resource_version;
          if (!out.showInitial && !relisted) return;
          const block = out.initial?.(initial);
          if (block !== undefined) ctx.print(block);
          else initial.forEach(print);
          return;
        }
        last = Math.max(last, e.resource_version);
        if (!synced) return void initial.push(e);
        print(e);
      });
      stop = job.cancel;
      try {
        await job.done;
        return; // the daemon ended the stream: it is going away
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.code === Status.RESOURCE_EXHAUSTED) continue; // resume from `last`
        if (e.code === Status.OUT_OF_RANGE) {
          last = 0;
          relisted = true;
          continue;
        }
        throw e;
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** The decoder's markers ("_latency_ms", the oneof's "object") are not the API's. */
const apiOnly = (k: string, v: unknown) => (k.startsWith("_") || k === "object" ? undefined : v);

/** An event as one line of JSON, with the object under its kind's field. */
export function eventJson(e: T.WatchEvent): string {
  return JSON.stringify(e, apiOnly);
}

/** An object as one line of JSON. */
export function objectJson(o: unknown): string {
  return JSON.stringify(o, apiOnly);
}
