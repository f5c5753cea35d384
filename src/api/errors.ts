// API errors: a gRPC status code plus a message that names the offending field.
// Messages quote at most a short part of the caller's input: a long echo would
// overflow HTTP/2 header limits and take every other call on the channel down with it.

/**
 * gRPC status codes (the fixed list every gRPC library shares), here rather than
 * imported from grpc-js so that `infrasim --version` and shell completion need not
 * load grpc-js at all.
 */
export enum Status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

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
