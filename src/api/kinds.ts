// The kinds of the API as clients and the daemon name them: the change feed's and the
// references' name, and the field of infrasim.v1.WatchEvent that carries one.
import type * as T from "./gen/infrasim.v1.ts";

export interface ApiKind {
  kind: "VM" | "IMAGE" | "VOLUME" | "NETWORK" | "SNAPSHOT" | "CHECKPOINT";
  event: Exclude<NonNullable<T.WatchEvent["object"]>, undefined>;
}

export const API_KINDS: readonly ApiKind[] = [
  { kind: "VM", event: "vm" },
  { kind: "IMAGE", event: "image" },
  { kind: "VOLUME", event: "volume" },
  { kind: "NETWORK", event: "network" },
  { kind: "SNAPSHOT", event: "snapshot" },
  { kind: "CHECKPOINT", event: "checkpoint" },
];

/** A kind by the name a user types (vm, VM, volumes), or undefined. */
export function kindByName(name: string): ApiKind | undefined {
  const n = name.trim().toUpperCase().replace(/S$/, "");
  return API_KINDS.find((k) => k.kind === n);
}

/** The object a watch event carries, whichever kind it is. */
export function eventObject(e: T.WatchEvent): { meta?: T.ObjectMeta | null } | undefined {
  return e.object ? e[e.object] ?? undefined : undefined;
}
