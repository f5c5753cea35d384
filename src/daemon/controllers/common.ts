// What every kind's controller shares: lookups that say what was not found, lock keys,
// refusing to delete an object that others use, and metadata bookkeeping.
import type * as T from "../../api/gen/infrasim.v1.ts";
import {
  ApiError,
  fieldError,
  invalid,
  notFound,
  quote,
  Status,
  Violations,
} from "../../api/errors.ts";
import { validateAnnotations, validateLabels, validateName } from "../../api/validate/common.ts";
import type { Meta, ObjectStore, StoredObject } from "../../store/objects.ts";
import type { RefStore } from "../../store/refs.ts";
import { matches, parseSelector } from "../../api/labels.ts";

export const now = () => new Date().toISOString();

/** A kind as messages say it, with its article: "a VM", "an image". */
export function aKind(kind: string): string {
  const word = kind === "VM" ? kind : kind.toLowerCase();
  return `${/^[aeiou]/i.test(word) ? "an" : "a"} ${word}`;
}

export const lockKey = (kind: string, id: string) => `${kind}/${id}`;

/** An object by id or name; NOT_FOUND quoting (a short part of) the ref. */
export function findOr404<S, St>(
  store: ObjectStore<S, St>,
  kind: string,
  ref: string,
  field = "ref",
): StoredObject<S, St> {
  if (!ref) throw invalid(field, `must name ${aKind(kind)} (id or name)`);
  const o = store.find(ref);
  if (!o) {
    const what = `${kind.toLowerCase()} ${quote(ref)} not found`;
    throw field === "ref" ? notFound(what) : fieldError(Status.NOT_FOUND, field, what);
  }
  return o;
}

/** FAILED_PRECONDITION naming every object that refers to this one. */
export function assertUnused(
  refs: RefStore,
  kind: string,
  o: { id: string; name: string },
  nameOf: (kind: string, id: string) => string,
): void {
  const users = refs.usersOf({ kind, id: o.id });
  if (users.length === 0) return;
  const list = users.map((u) =>
    `${u.kind.toLowerCase()} ${quote(nameOf(u.kind, u.id))} (${u.field})`
  );
  throw new ApiError(
    Status.FAILED_PRECONDITION,
    `${kind.toLowerCase()} ${quote(o.name)} is in use by ${list.join(", ")}; delete or change ${
      users.length > 1 ? "them" : "it"
    } first`,
  );
}

/** Labels and annotations from a request, validated; absent meta keeps the current ones. */
export function metaMaps(
  req: T.ObjectMeta | null | undefined,
  current?: Meta,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels = { ...(req ? req.labels ?? {} : current?.labels ?? {}) };
  const annotations = { ...(req ? req.annotations ?? {} : current?.annotations ?? {}) };
  validateLabels(labels, "meta.labels");
  validateAnnotations(annotations, "meta.annotations");
  return { labels, annotations };
}

/**
 * A create request checked as a whole: its name, labels and annotations, and its spec
 * by the kind's own normalizer; every violation is reported at once. With nameOptional,
 * an empty name is returned as "" (the kind picks one).
 */
export function checkCreate<S>(
  meta: T.ObjectMeta | null | undefined,
  spec: () => S,
  opts: { nameOptional?: boolean } = {},
): { name: string; labels: Record<string, string>; annotations: Record<string, string>; spec: S } {
  const v = new Violations();
  const name = opts.nameOptional && !meta?.name
    ? ""
    : v.check(() => validateName(meta?.name, "meta.name"), "");
  const maps = v.check(() => metaMaps(meta, undefined), { labels: {}, annotations: {} });
  const s = v.check(spec, undefined);
  v.done();
  return { name, ...maps, spec: s! };
}

/** The meta of an object about to be created. */
export function newMeta(
  id: string,
  name: string,
  maps: { labels: Record<string, string>; annotations: Record<string, string> },
): Meta {
  const t = now();
  return {
    id,
    name,
    ...maps,
    created_at: t,
    updated_at: t,
    generation: 1,
    resource_version: 0,
  };
}

/**
 * What every kind's controller reads the same way: one object by id or name (NOT_FOUND
 * naming the kind), and the list under a label selector. Status is stored, never computed
 * on read, so what is read is what watchers were sent.
 */
export class KindReads<S, St> {
  constructor(readonly store: ObjectStore<S, St>, private readonly kind: string) {}

  find(ref: string, field = "ref"): StoredObject<S, St> {
    return findOr404(this.store, this.kind, ref, field);
  }

  get(ref: string): StoredObject<S, St> {
    return this.find(ref);
  }

  list(selector: string): StoredObject<S, St>[] {
    const reqs = parseSelector(selector);
    return this.store.list().filter((o) => matches(reqs, o.meta.labels));
  }
}

/** New meta for a change: generation and updated_at move only when something changed. */
export function nextMeta(cur: Meta, changed: boolean, patch: Partial<Meta> = {}): Meta {
  return {
    ...cur,
    ...patch,
    updated_at: changed ? now() : cur.updated_at,
    generation: changed ? cur.generation + 1 : cur.generation,
  };
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
