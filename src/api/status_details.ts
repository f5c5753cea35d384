// Field violations on the wire: google.rpc.Status with a google.rpc.BadRequest detail in
// the `grpc-status-details-bin` trailer, as gRPC's richer error model has it (grpcurl,
// Postman and other gRPC tools show them). Decoded lazily: only failed calls pay for it.
import protobuf from "protobufjs";
import { Buffer } from "node:buffer";
import { descriptors } from "./gen/descriptor.ts";
import type { FieldViolation } from "./errors.ts";

export const DETAILS_KEY = "grpc-status-details-bin";
/** Set on an UNAVAILABLE that the daemon sent itself: it is going away (not unreachable). */
export const SHUTDOWN_KEY = "infrasim-shutdown";
const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

let types: { status: protobuf.Type; badRequest: protobuf.Type } | undefined;
function rpcTypes() {
  if (!types) {
    // deno-lint-ignore no-explicit-any
    const root = protobuf.Root.fromJSON(descriptors["google.rpc"] as any);
    types = {
      status: root.lookupType("google.rpc.Status"),
      badRequest: root.lookupType("google.rpc.BadRequest"),
    };
  }
  return types;
}

/** The trailer's value for a failed call with field violations. */
export function encodeDetails(code: number, message: string, vs: FieldViolation[]): Buffer {
  const t = rpcTypes();
  const bad = t.badRequest.encode(t.badRequest.fromObject({ field_violations: vs })).finish();
  const status = t.status.fromObject({
    code,
    message,
    details: [{ type_url: BAD_REQUEST, value: bad }],
  });
  return Buffer.from(t.status.encode(status).finish());
}

/** The field violations in a trailer's value; none when it carries no BadRequest. */
export function decodeViolations(bytes: Uint8Array): FieldViolation[] {
  try {
    const t = rpcTypes();
    const status = t.status.toObject(t.status.decode(bytes), { defaults: true }) as {
      details: Array<{ type_url: string; value: Uint8Array }>;
    };
    return status.details.filter((d) => d.type_url === BAD_REQUEST).flatMap((d) =>
      (t.badRequest.toObject(t.badRequest.decode(d.value), { defaults: true }) as {
        field_violations: FieldViolation[];
      }).field_violations.map((v) => ({ field: v.field, description: v.description }))
    );
  } catch {
    return []; // details we cannot read: the message still says what went wrong
  }
}
