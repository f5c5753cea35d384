// The client's address forms, and the CLI's age and output-format helpers.
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { daemonTarget, toGrpcTarget } from "../../src/api/client.ts";
import { ApiError, Status } from "../../src/api/errors.ts";
import { age, render } from "../../src/cli/output.ts";

// ---- toGrpcTarget ----

Deno.test("toGrpcTarget: unix socket forms become unix:/abs/path", () => {
  assert.equal(
    toGrpcTarget("unix:///home/me/.infrasim/infrasimd.sock"),
    "unix:/home/me/.infrasim/infrasimd.sock",
  );
  assert.equal(toGrpcTarget("unix:/tmp/d/infrasimd.sock"), "unix:/tmp/d/infrasimd.sock");
  assert.equal(toGrpcTarget("/tmp/d/infrasimd.sock"), "unix:/tmp/d/infrasimd.sock");
  assert.equal(toGrpcTarget("  /tmp/x.sock\n"), "unix:/tmp/x.sock");
});

Deno.test("toGrpcTarget: host:port and http://host:port", () => {
  assert.equal(toGrpcTarget("127.0.0.1:50051"), "127.0.0.1:50051");
  assert.equal(toGrpcTarget("localhost:50051"), "localhost:50051");
  assert.equal(toGrpcTarget("[::1]:50051"), "[::1]:50051");
  assert.equal(toGrpcTarget("my-host.example:1"), "my-host.example:1");
  assert.equal(toGrpcTarget("http://127.0.0.1:50051"), "127.0.0.1:50051");
  assert.equal(toGrpcTarget("http://localhost:50051/"), "localhost:50051");
  assert.equal(toGrpcTarget("http://[::1]:50051//"), "[::1]:50051");
  assert.equal(toGrpcTarget(" 127.0.0.1:50051 "), "127.0.0.1:50051");
});

function assertAddressError(address: string, message: string | RegExp): void {
  assert.throws(() => toGrpcTarget(address), (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
    assert.equal(e.code, Status.INVALID_ARGUMENT);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  }, address);
}

Deno.test("toGrpcTarget: https is refused as unsupported", () => {
  assertAddressError("https://localhost:50051", "daemon_address: TLS (https://) is not supported");
});

Deno.test("toGrpcTarget: other forms are INVALID_ARGUMENT naming daemon_address", () => {
  for (
    const bad of [
      "",
      "localhost",
      "127.0.0.1",
      "relative/path.sock",
      "localhost:port",
      "a b:1",
      "grpc://x:1",
    ]
  ) {
    assertAddressError(
      bad,
      `daemon_address: ${JSON.stringify(bad)} is not unix:///path, /path or host:port`,
    );
  }
});

// ---- age ----

Deno.test("age: seconds below 2 minutes, then minutes, hours and days", () => {
  const now = Date.parse("2026-01-10T12:00:00Z");
  const ago = (s: number) => new Date(now - s * 1000).toISOString();
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1s"],
    [119, "119s"],
    [120, "2m"],
    [179, "2m"],
    [7199, "119m"],
    [7200, "2h"],
    [172799, "47h"],
    [172800, "2d"],
    [86400 * 400, "400d"],
  ];
  for (const [s, want] of cases) assert.equal(age(ago(s), now), want, `${s}s ago`);
});

Deno.test("age: empty is -, the future is 0s", () => {
  assert.equal(age(""), "-");
  const now = Date.parse("2026-01-10T12:00:00Z");
  assert.equal(age("2026-01-10T12:05:00Z", now), "0s");
});

Deno.test("age: defaults to the current time", () => {
  assert.match(age(new Date().toISOString()), /^[0-2]s$/);
  assert.equal(age(new Date(Date.now() - 3 * 3600_000).toISOString()), "3h");
});

// Documents the intended behaviour; fails today (see the report): Date.parse gives NaN for
// a timestamp it cannot read, and age() renders "NaNd". Un-ignore once age() returns "-" for
// an unparseable timestamp (as it does for an empty one).
Deno.test({
  name: "age: an unparseable timestamp renders as -",
  fn() {
    assert.equal(age("not a date"), "-");
  },
});

// ---- render ----

const DATA = {
  meta: { name: "web", labels: { app: "web" }, generation: 2 },
  spec: { arch: "x86_64", disks: [], network: null },
};

Deno.test("render json: the whole object, indented, table not built", () => {
  let called = 0;
  const out = render("json", DATA, () => {
    called++;
    return "TABLE";
  });
  assert.equal(out, JSON.stringify(DATA, null, 2));
  assert.deepEqual(JSON.parse(out), DATA);
  assert.equal(called, 0);
});

Deno.test("render yaml: the whole object, no trailing newline, table not built", () => {
  let called = 0;
  const out = render("yaml", DATA, () => {
    called++;
    return "TABLE";
  });
  assert.deepEqual(parseYaml(out), DATA);
  assert.ok(!out.endsWith("\n"));
  assert.match(out, /^meta:\n {2}name: web\n/);
  assert.equal(called, 0);
});

Deno.test("render table: whatever the table function returns", () => {
  assert.equal(
    render("table", DATA, () => "NAME  STATE\nweb   RUNNING"),
    "NAME  STATE\nweb   RUNNING",
  );
});

Deno.test("render lists", () => {
  assert.equal(render("json", [], () => "No VMs."), "[]");
  assert.equal(render("yaml", [], () => "No VMs."), "[]");
  assert.equal(render("table", [], () => "No VMs."), "No VMs.");
});

// Documents the intended behaviour; fails today (see the report): after "http://" is
// stripped the rest is not checked, so "http://localhost" becomes "localhost" (grpc-js then
// dials its default port 443), "http://" becomes "", and a path is kept in the target.
// Un-ignore once the stripped form goes through the same host:port check as a bare address.
Deno.test({
  name: "toGrpcTarget: http:// without a port, or with a path, is refused",
  fn() {
    for (const bad of ["http://localhost", "http://", "http://localhost:50051/v1"]) {
      assert.throws(() => toGrpcTarget(bad), ApiError, bad);
    }
  },
});

Deno.test("daemonTarget: loopback and unix sockets only, so the token never leaves the host", () => {
  for (const ok of ["127.0.0.1:50051", "127.9.9.9:1", "localhost:1", "[::1]:1", "/tmp/x.sock"]) {
    assert.equal(daemonTarget(ok), toGrpcTarget(ok), ok);
  }
  for (const remote of ["my-host.example:1", "10.0.0.5:50051", "http://192.168.1.2:50051"]) {
    assert.throws(
      () => daemonTarget(remote),
      (e: ApiError) =>
        e.code === Status.INVALID_ARGUMENT && /loopback only; remote daemons/.test(e.message),
      remote,
    );
  }
});
