// Shared by the validation tests.
import assert from "node:assert/strict";
import { ApiError, Status } from "../../src/api/errors.ts";

/** Asserts fn throws an INVALID_ARGUMENT ApiError whose message starts with prefix. */
export function assertInvalid(fn: () => unknown, prefix: string, rest?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
    assert.equal(e.code, Status.INVALID_ARGUMENT);
    assert.equal(e.code, 3);
    assert.ok(
      e.message.startsWith(prefix),
      `message ${JSON.stringify(e.message)} should start with ${JSON.stringify(prefix)}`,
    );
    if (rest) assert.match(e.message, rest);
    return true;
  });
}
