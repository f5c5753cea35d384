// infrasim.v1.WatchService: the change feed as a server stream. A watch lists the current
// objects (ADDED each, then SYNCED) or resumes after a resource version from the kept
// changes, then sends every committed change that matches its filter, in order. The
// backlog and the subscription are taken in one synchronous step, so nothing falls
// between them. A client that does not keep up is cut off, never buffered without bound.
import * as grpc from "@grpc/grpc-js";
import { SHUTDOWN_KEY } from "../../api/status_details.ts";
import type * as T from "../../api/gen/infrasim.v1.ts";
import { ApiError, invalid, quote, Status } from "../../api/errors.ts";
import { matches, parseSelector } from "../../api/labels.ts";
import type { Change, ChangeFeed } from "../../store/feed.ts";
import type { ObjectStore, StoredObject } from "../../store/objects.ts";
import { kindByName, KINDS } from "../kinds.ts";
import { log } from "../log.ts";
import { toStatus } from "./rpc.ts";

/** Events, and their bytes, a client may leave unread before it is cut off. */
export const MAX_UNREAD = 4096;
export const MAX_UNREAD_BYTES = 32 << 20;

type Call = grpc.ServerWritableStream<T.WatchRequest, T.WatchEvent>;
type Obj = StoredObject<unknown, unknown>;

interface Filter {
  kinds: Set<string>;
  name: string;
  selector: ReturnType<typeof parseSelector>;
}

function filterOf(r: T.WatchRequest): Filter {
  const kinds = new Set<string>();
  for (const [i, k] of (r.kinds ?? []).entries()) {
    const def = kindByName(k);
    if (!def) {
      throw invalid(
        `kinds[${i}]`,
        `${quote(k)} is not a kind (${KINDS.map((d) => d.kind.toLowerCase()).join(", ")})`,
      );
    }
    kinds.add(def.kind);
  }
  if (kinds.size === 0) { for (const k of KINDS) kinds.add(k.kind); }
  return { kinds, name: r.name ?? "", selector: parseSelector(r.label_selector ?? "") };
}

const wanted = (f: Filter, kind: string, o: Obj) =>
  f.kinds.has(kind) && (!f.name || o.meta.name === f.name || o.meta.id === f.name) &&
  matches(f.selector, o.meta.labels);

function event(type: T.EventType, kind: string, rv: number, o?: Obj): T.WatchEvent {
  const def = KINDS.find((k) => k.kind === kind);
  return {
    type,
    kind,
    resource_version: rv,
    ...(def && o ? { [def.event]: o } : {}),
  } as T.WatchEvent;
}

export function watchService(
  feed: ChangeFeed,
  stores: Map<string, ObjectStore<unknown, unknown>>,
): T.WatchServiceHandlers {
  return { Watch: (call) => watch(feed, stores, call) };
}

function watch(feed: ChangeFeed, stores: Map<string, ObjectStore<unknown, unknown>>, call: Call) {
  let filter: Filter;
  let backlog: Change[] | undefined = [];
  const from = Number(call.request.resource_version ?? 0);
  try {
    filter = filterOf(call.request);
    if (!Number.isSafeInteger(from) || from < 0) {
      throw invalid("resource_version", "must be a whole number, 0 or more");
    }
    if (from > 0) backlog = feed.since(from);
    if (!backlog) {
      const cur = feed.current();
      throw new ApiError(
        Status.OUT_OF_RANGE,
        from > cur
          ? `resource_version ${from} is ahead of this daemon's (${cur}): its state was replaced; ` +
            "watch without resource_version to list again"
          : `resource_version ${from} is too old: changes after it are no longer kept (the oldest ` +
            `a watch can resume from is ${feed.oldestResumable()}); watch without resource_version ` +
            "to list again",
      );
    }
  } catch (e) {
    call.emit("error", toStatus(e, "Watch"));
    return;
  }

  let ended = false;
  let unreadBytes = 0;
  const end = (status?: Partial<grpc.StatusObject>) => {
    if (ended) return;
    ended = true;
    unsubscribe();
    removeCloser();
    if (status) call.emit("error", status);
    else call.end();
  };
  const send = (ev: T.WatchEvent, size: number) => {
    if (ended) return;
    unreadBytes += size;
    call.write(ev, () => (unreadBytes -= size));
    if (call.writableLength > MAX_UNREAD || unreadBytes > MAX_UNREAD_BYTES) {
      log.warn("watch client too slow; cut off", { unread: call.writableLength, unreadBytes });
      end({
        code: Status.RESOURCE_EXHAUSTED,
        details: `watch: the client left more than ${MAX_UNREAD} events unread and was cut ` +
          "off; watch again from the last resource_version it received",
      });
    }
  };
  const live = (c: Change) => {
    if (wanted(filter, c.kind, c.object)) send(event(c.type, c.kind, c.rv, c.object), c.size);
  };

  // One synchronous step: the list (or backlog) and the subscription see the same state.
  const initial: Array<[T.WatchEvent, number]> = [];
  const sized = (ev: T.WatchEvent, o?: Obj): [T.WatchEvent, number] => [
    ev,
    o ? JSON.stringify(o).length : 16,
  ];
  if (from === 0) {
    for (const k of KINDS) {
      if (!filter.kinds.has(k.kind)) continue;
      for (const o of stores.get(k.kind)!.list()) {
        if (wanted(filter, k.kind, o)) {
          initial.push(sized(event("ADDED", k.kind, o.meta.resource_version, o), o));
        }
      }
    }
    initial.push(sized(event("SYNCED", "", feed.current())));
  } else {
    for (const c of backlog) {
      if (wanted(filter, c.kind, c.object)) {
        initial.push([event(c.type, c.kind, c.rv, c.object), c.size]);
      }
    }
  }
  const unsubscribe = feed.subscribe(live);
  const removeCloser = feed.onClose(() => {
    // Marked as the daemon's own word, so clients tell it from a connection that failed.
    const metadata = new grpc.Metadata();
    metadata.set(SHUTDOWN_KEY, "1");
    end({ code: Status.UNAVAILABLE, details: "infrasimd is shutting down; watch again", metadata });
  });
  call.on("cancelled", () => end());
  call.on("error", () => end());
  for (const [ev, size] of initial) send(ev, size);
}
