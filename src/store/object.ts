// The shape every stored object has: meta, spec (what the user wants) and status (what
// the daemon observed), as the API sends them.
import type { ObjectMeta } from "../api/gen/infrasim.v1.ts";

export type Meta = Required<Pick<ObjectMeta, keyof ObjectMeta>>;

export interface StoredObject<S, St> {
  meta: Meta;
  spec: S;
  status: St;
}
