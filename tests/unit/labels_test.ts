// Kubernetes-style label selectors: parsing and matching.
import assert from "node:assert/strict";
import { matches, parseSelector } from "../../src/api/labels.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

const web = { app: "web", tier: "frontend", env: "prod" };
const db = { app: "db", tier: "backend" };
const bare = {};

/** Which of the sample label sets a selector picks. */
function pick(selector: string): string[] {
  const reqs = parseSelector(selector);
  return Object.entries({ web, db, bare })
    .filter(([, labels]) => matches(reqs, labels))
    .map(([n]) => n);
}

function assertBad(selector: string, field = "label_selector"): void {
  assert.throws(() => parseSelector(selector, field), (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
    assert.equal(e.code, Status.INVALID_ARGUMENT);
    assert.ok(e.message.startsWith(`${field}: `), e.message);
    return true;
  }, `selector ${JSON.stringify(selector)} should be refused`);
}

Deno.test("empty selector matches everything", () => {
  assert.deepEqual(parseSelector(""), []);
  assert.deepEqual(parseSelector("   "), []);
  assert.deepEqual(pick(""), ["web", "db", "bare"]);
});

Deno.test("= and == select by equality", () => {
  assert.deepEqual(parseSelector("app=web"), [{ key: "app", op: "in", values: ["web"] }]);
  assert.deepEqual(parseSelector("app==web"), [{ key: "app", op: "in", values: ["web"] }]);
  assert.deepEqual(parseSelector(" app = web "), [{ key: "app", op: "in", values: ["web"] }]);
  assert.deepEqual(pick("app=web"), ["web"]);
  assert.deepEqual(pick("app==db"), ["db"]);
  assert.deepEqual(pick("app=cache"), []);
});

Deno.test("!= selects unequal or missing", () => {
  assert.deepEqual(parseSelector("app!=web"), [{ key: "app", op: "notin", values: ["web"] }]);
  assert.deepEqual(pick("app!=web"), ["db", "bare"]);
  assert.deepEqual(pick("env!=prod"), ["db", "bare"]);
});

Deno.test("a bare key requires the label to exist", () => {
  assert.deepEqual(parseSelector("env"), [{ key: "env", op: "exists" }]);
  assert.deepEqual(pick("env"), ["web"]);
  assert.deepEqual(pick("tier"), ["web", "db"]);
});

Deno.test("!key requires the label to be absent", () => {
  assert.deepEqual(parseSelector("!env"), [{ key: "env", op: "absent" }]);
  assert.deepEqual(parseSelector("! env"), [{ key: "env", op: "absent" }]);
  assert.deepEqual(pick("!env"), ["db", "bare"]);
  assert.deepEqual(pick("!tier"), ["bare"]);
});

Deno.test("in (...) selects any of the listed values", () => {
  assert.deepEqual(parseSelector("app in (web, db)"), [
    { key: "app", op: "in", values: ["web", "db"] },
  ]);
  assert.deepEqual(parseSelector("app in(web)"), [{ key: "app", op: "in", values: ["web"] }]);
  assert.deepEqual(pick("app in (web,db)"), ["web", "db"]);
  assert.deepEqual(pick("app in (db,cache)"), ["db"]);
  assert.deepEqual(pick("app in (cache)"), []);
});

Deno.test("notin (...) selects none of the listed values, or missing", () => {
  assert.deepEqual(parseSelector("app notin (web,db)"), [
    { key: "app", op: "notin", values: ["web", "db"] },
  ]);
  assert.deepEqual(pick("app notin (web)"), ["db", "bare"]);
  assert.deepEqual(pick("app notin (web, db)"), ["bare"]);
});

Deno.test("commas outside parentheses AND requirements together", () => {
  assert.deepEqual(parseSelector("app in (web,db),!env, tier=backend"), [
    { key: "app", op: "in", values: ["web", "db"] },
    { key: "env", op: "absent" },
    { key: "tier", op: "in", values: ["backend"] },
  ]);
  assert.deepEqual(pick("app in (web,db),!env"), ["db"]);
  assert.deepEqual(pick("tier,app!=db"), ["web"]);
  assert.deepEqual(pick("app=web,app=db"), []);
});

Deno.test("prefixed keys and empty values", () => {
  const labels = { "example.com/team": "infra", "app.kubernetes.io/name": "x", empty: "" };
  assert.ok(matches(parseSelector("example.com/team=infra"), labels));
  assert.ok(matches(parseSelector("app.kubernetes.io/name in (x,y)"), labels));
  assert.ok(matches(parseSelector("empty="), labels));
  assert.ok(matches(parseSelector("empty"), labels));
  assert.ok(!matches(parseSelector("empty!="), labels));
  assert.ok(!matches(parseSelector("missing="), labels));
});

Deno.test("matching ignores inherited properties", () => {
  assert.ok(!matches(parseSelector("toString"), {}));
  assert.ok(matches(parseSelector("!constructor"), {}));
});

Deno.test("bad syntax is INVALID_ARGUMENT naming label_selector", () => {
  for (
    const bad of [
      "=web",
      "app=web=x",
      "app=we b",
      "app in web",
      "app in (web",
      "app in (we b)",
      "app notin (a,b c)",
      "app in (web))",
      "app,,tier",
      ",",
      "app=web,",
      "a b",
      "app >= 1",
      "!",
      "!app=web",
      "-app",
    ]
  ) {
    assertBad(bad);
  }
});

Deno.test("the error names a custom field and quotes the requirement", () => {
  assertBad("a b", "selector");
  assert.throws(
    () => parseSelector("app=web,a b"),
    { message: 'label_selector: cannot parse requirement "a b"' },
  );
  assert.throws(() => parseSelector("app in (we b)"), /label_selector: bad value list/);
});
