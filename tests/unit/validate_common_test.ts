// Validation shared by every kind: names (DNS labels) and Kubernetes-style labels.
import assert from "node:assert/strict";
import { validateLabels, validateName } from "../../src/api/validate/common.ts";
import { assertInvalid } from "./invalid_fixture.ts";

Deno.test("validateName accepts DNS labels", () => {
  for (const name of ["a", "web", "web-1", "0", "a".repeat(63), "1-2-3"]) {
    assert.equal(validateName(name), name);
  }
});

Deno.test("validateName rejects everything else, naming the field", () => {
  assertInvalid(() => validateName(""), "meta.name: must not be empty");
  assertInvalid(() => validateName(undefined), "meta.name: must not be empty");
  assertInvalid(() => validateName(42), "meta.name: must not be empty");
  assertInvalid(() => validateName("a".repeat(64)), "meta.name: must be at most 63 characters");
  assertInvalid(() => validateName("a".repeat(300)), "meta.name: must be at most 63 characters");
  for (const bad of ["Web", "web-", "-web", "a/b", "..", "a.b", "a_b", "a b", "é"]) {
    assertInvalid(() => validateName(bad), "meta.name: ", /is not a DNS label/);
  }
  assertInvalid(() => validateName("Web", "name"), "name: ");
});

Deno.test("validateLabels accepts Kubernetes-style labels", () => {
  validateLabels({}, "meta.labels");
  validateLabels(undefined as never, "meta.labels");
  validateLabels({
    app: "web",
    "app.kubernetes.io/name": "web",
    "example.com/tier": "",
    A_b: "x.y-Z_1",
    ["k".repeat(63)]: "v".repeat(63),
  }, "meta.labels");
});

Deno.test("validateLabels rejects bad keys and values, naming the key", () => {
  const f = "meta.labels";
  assertInvalid(
    () => validateLabels({ "": "x" }, f),
    'meta.labels[""]: key must be 1-63 characters',
  );
  assertInvalid(
    () => validateLabels({ ["k".repeat(64)]: "x" }, f),
    `meta.labels[${JSON.stringify("k".repeat(64))}]: key must be`,
  );
  assertInvalid(() => validateLabels({ "-app": "x" }, f), 'meta.labels["-app"]: key must be');
  assertInvalid(() => validateLabels({ "a b": "x" }, f), 'meta.labels["a b"]: key must be');
  assertInvalid(
    () => validateLabels({ "Example.com/app": "x" }, f),
    'meta.labels["Example.com/app"]: key prefix must be a DNS subdomain',
  );
  assertInvalid(
    () => validateLabels({ "/app": "x" }, f),
    'meta.labels["/app"]: key prefix must be a DNS subdomain',
  );
  assertInvalid(
    () => validateLabels({ "example.com/": "x" }, f),
    'meta.labels["example.com/"]: key must be',
  );
  assertInvalid(
    () => validateLabels({ app: "v".repeat(64) }, f),
    'meta.labels["app"]: value must be at most 63 characters',
  );
  assertInvalid(() => validateLabels({ app: "a b" }, f), 'meta.labels["app"]: value must be');
  assertInvalid(() => validateLabels({ app: "-x" }, f), 'meta.labels["app"]: value must be');
  assertInvalid(() => validateLabels({ app: "x/y" }, "update.labels"), 'update.labels["app"]: ');
});

Deno.test("ApiError renders as CODE: message", () => {
  try {
    validateName("");
    assert.fail("should throw");
  } catch (e) {
    assert.equal(String(e), "INVALID_ARGUMENT: meta.name: must not be empty");
  }
});
