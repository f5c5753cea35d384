// API errors: a gRPC status code plus a message that names the offending field.
import { status as Status } from "@grpc/grpc-js";

export { Status };

export class ApiError extends Error {
  constructor(readonly code: Status, message: string) {
    super(message);
    this.name = "ApiError";
  }
  /** "INVALID_ARGUMENT: spec.memory_mb: must be between 64 and 1048576" */
  override toString(): string {
    return `${Status[this.code]}: ${this.message}`;
  }
}

export const invalid = (field: string, msg: string) =>
  new ApiError(Status.INVALID_ARGUMENT, `${field}: ${msg}`);
export const notFound = (msg: string) => new ApiError(Status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new ApiError(Status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string) => new ApiError(Status.FAILED_PRECONDITION, msg);

/** The code name of a gRPC error, or UNKNOWN. */
export function codeName(err: unknown): string {
  const code = (err as { code?: number })?.code;
  return typeof code === "number" && Status[code] ? Status[code] : "UNKNOWN";
}
