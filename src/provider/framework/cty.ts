// cty values on the wire: Terraform's DynamicValue msgpack encoding.
// null is nil; unknown is extension type 0 (any extension type reads as unknown,
// since Terraform 1.8+ sends refined unknowns as type 12); numbers may arrive as
// int, float or string; objects carry every attribute.
import { decode, encode, ExtensionCodec } from "@msgpack/msgpack";

/** The unknown value ("known after apply"). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

export type CtyValue =
  | null
  | Unknown
  | string
  | number
  | boolean
  | CtyValue[]
  | { [k: string]: CtyValue };

const codec = new ExtensionCodec();
for (let type = 0; type <= 127; type++) {
  codec.register({
    type,
    encode: (v: unknown) => (v === UNKNOWN && type === 0 ? new Uint8Array([0]) : null),
    decode: () => UNKNOWN,
  });
}

export function isUnknown(v: unknown): v is Unknown {
  return v === UNKNOWN;
}

/** Encodes a value; integers as msgpack ints, other numbers as floats. */
export function encodeValue(v: CtyValue): Uint8Array {
  return encode(v, { extensionCodec: codec, ignoreUndefined: false });
}

export function decodeValue(bytes: Uint8Array | null | undefined): CtyValue {
  if (!bytes || bytes.length === 0) return null;
  return decode(bytes, { extensionCodec: codec }) as CtyValue;
}

/** A number as cty sends it: int, float or a decimal string. */
export function toNumber(v: CtyValue, path: string): number | null | Unknown {
  if (v === null || v === UNKNOWN) return v;
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new TypeError(`${path}: expected a number, got ${JSON.stringify(v)}`);
}

/** True if v or anything inside it is unknown. */
export function containsUnknown(v: CtyValue): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}
