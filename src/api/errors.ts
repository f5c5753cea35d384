// API errors: a gRPC status code plus a message that names the offending field.
// Messages quote at most a short part of the caller's input: a long echo would
// overflow HTTP/2 header limits and take every other call on the channel down with it.
import { status as Status } from "@grpc/grpc-js";

export { Status };

/** The longest error message sent: details travel in an HTTP/2 trailer. */
export const MAX_MESSAGE = 1024;
const QUOTE_MAX = 100;

export class ApiError extends Error {
  constructor(readonly code: Status, message: string) {
    super(capMessage(message));
    this.name = "ApiError";
  }
  /** "INVALID_ARGUMENT: spec.memory_mb: must be between 64 and 1048576" */
  override toString(): string {
    return `${Status[this.code]}: ${this.message}`;
  }
}

/** A value as an error quotes it: JSON, at most 100 characters, then an ellipsis. */
export function quote(v: unknown): string {
  const s = typeof v === "string" ? v : String(v);
  if (s.length <= QUOTE_MAX) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, QUOTE_MAX))}… (${s.length} characters)`;
}

export function capMessage(msg: string): string {
  return msg.length <= MAX_MESSAGE ? msg : `${msg.slice(0, MAX_MESSAGE - 1)}…`;
}

export const invalid = (field: string, msg: string) =>
  new ApiError(Status.INVALID_ARGUMENT, `${field}: ${msg}`);
export const notFound = (msg: string) => new ApiError(Status.NOT_FOUND, msg);
export const failedPrecondition = (msg: string) => new ApiError(Status.FAILED_PRECONDITION, msg);
