// API errors: a gRPC status code, a message, and for bad input every field violation as
// data (field path and description), which travels as google.rpc.BadRequest in the
// status details. Messages quote at most a short part of the caller's input: a long
// echo would overflow HTTP/2 header limits and take every other call on the channel
// down with it.

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

/** One bad field: its path in the request ("spec.memory_mb") and what is wrong with it. */
export interface FieldViolation {
  field: string;
  description: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: Status,
    message: string,
    /** Every field that is wrong, when the error is about input. */
    readonly violations: FieldViolation[] = [],
  ) {
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
  new ApiError(Status.INVALID_ARGUMENT, `${field}: ${msg}`, [{ field, description: msg }]);

/** The message for several violations: each as "field: description". */
export function violationsMessage(vs: FieldViolation[]): string {
  if (vs.length === 1) return `${vs[0].field}: ${vs[0].description}`;
  return `${vs.length} invalid fields: ${vs.map((v) => `${v.field}: ${v.description}`).join("; ")}`;
}

/**
 * Collects every violation instead of stopping at the first: each check runs, an
 * INVALID_ARGUMENT it throws is kept (with all its violations) and a stand-in value is
 * used, and done() throws them all at once.
 */
export class Violations {
  readonly list: FieldViolation[] = [];

  /** fn's value, or fallback when it threw an INVALID_ARGUMENT (kept); others propagate. */
  check<R>(fn: () => R, fallback: R): R {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== Status.INVALID_ARGUMENT) throw e;
      for (
        const v of e.violations.length ? e.violations : [{ field: "", description: e.message }]
      ) {
        this.add(v.field, v.description);
      }
      return fallback;
    }
  }

  add(field: string, description: string): void {
    if (this.list.some((v) => v.field === field && v.description === description)) return;
    this.list.push({ field, description });
  }

  get ok(): boolean {
    return this.list.length === 0;
  }

  /** Throws one INVALID_ARGUMENT carrying every violation, if there is any. */
  done(): void {
    if (this.list.length === 0) return;
    throw new ApiError(Status.INVALID_ARGUMENT, violationsMessage(this.list), this.list);
  }
}
/** An error of any code about one field, with the field as data (as `invalid` has it). */
export const fieldError = (code: Status, field: string, msg: string) =>
  new ApiError(code, `${field}: ${msg}`, [{ field, description: msg }]);
export const notFound = (msg: string) => new ApiError(Status.NOT_FOUND, msg);
export const failedPrecondition = (msg: string) => new ApiError(Status.FAILED_PRECONDITION, msg);
