// Terraform's DynamicValue msgpack codec, checked against byte strings written out by
// hand from the msgpack spec (and cty's msgpack encoding of unknowns).
import assert from "node:assert/strict";
import {
  containsUnknown,
  type CtyValue,
  decodeValue,
  encodeValue,
  isUnknown,
  toNumber,
  UNKNOWN,
} from "../../src/provider/framework/cty.ts";

/** "81 a1 61" -> bytes. */
function hex(s: string): Uint8Array {
  const parts = s.split(/\s+/).filter(Boolean);
  for (const p of parts) assert.match(p, /^[0-9a-f]{2}$/, `bad hex byte ${p}`);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** bytes -> "81 a1 61", so failures show the wire form. */
function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

function assertEncodes(v: CtyValue, expected: string): void {
  assert.equal(toHex(encodeValue(v)), toHex(hex(expected)));
}

function assertDecodes(bytes: string, expected: CtyValue): void {
  assert.deepEqual(decodeValue(hex(bytes)), expected);
}

// ---- encoding ----

Deno.test("encode: null is nil (c0)", () => {
  assertEncodes(null, "c0");
});

Deno.test("encode: UNKNOWN is fixext1 type 0 with one zero byte (d4 00 00)", () => {
  assertEncodes(UNKNOWN, "d4 00 00");
});

Deno.test("encode: an unknown attribute inside an object", () => {
  assertEncodes({ a: UNKNOWN }, "81 a1 61 d4 00 00");
});

Deno.test("encode: unknowns inside arrays and nested objects", () => {
  assertEncodes([UNKNOWN, null], "92 d4 00 00 c0");
  assertEncodes({ o: { u: UNKNOWN } }, "81 a1 6f 81 a1 75 d4 00 00");
});

Deno.test("encode: small non-negative integers are positive fixints", () => {
  assertEncodes(0, "00");
  assertEncodes(1, "01");
  assertEncodes(42, "2a");
  assertEncodes(127, "7f");
});

Deno.test("encode: larger integers use uint8/16/32/64", () => {
  assertEncodes(128, "cc 80");
  assertEncodes(255, "cc ff");
  assertEncodes(256, "cd 01 00");
  assertEncodes(512, "cd 02 00");
  assertEncodes(65535, "cd ff ff");
  assertEncodes(70000, "ce 00 01 11 70");
  assertEncodes(1048576, "ce 00 10 00 00");
  assertEncodes(2 ** 32, "cf 00 00 00 01 00 00 00 00");
});

Deno.test("encode: negative integers (negative fixint, int8, int16, int32)", () => {
  assertEncodes(-1, "ff");
  assertEncodes(-32, "e0");
  assertEncodes(-33, "d0 df");
  assertEncodes(-128, "d0 80");
  assertEncodes(-200, "d1 ff 38");
  assertEncodes(-40000, "d2 ff ff 63 c0");
});

Deno.test("encode: non-integers are float64 (cb), never float32", () => {
  assertEncodes(1.5, "cb 3f f8 00 00 00 00 00 00");
  assertEncodes(-0.25, "cb bf d0 00 00 00 00 00 00");
  assertEncodes(0.1, "cb 3f b9 99 99 99 99 99 9a");
  // Too large for int64: a float64.
  assertEncodes(1e20, "cb 44 15 af 1d 78 b5 8c 40");
});

Deno.test("encode: strings are fixstr (str8 past 31 bytes), UTF-8", () => {
  assertEncodes("", "a0");
  assertEncodes("a", "a1 61");
  assertEncodes("hi", "a2 68 69");
  assertEncodes("tcp", "a3 74 63 70");
  assertEncodes("é", "a2 c3 a9");
  assertEncodes("x".repeat(31), "bf" + " 78".repeat(31));
  assertEncodes("x".repeat(32), "d9 20" + " 78".repeat(32));
});

Deno.test("encode: bools", () => {
  assertEncodes(true, "c3");
  assertEncodes(false, "c2");
});

Deno.test("encode: arrays are fixarray (array16 past 15 elements)", () => {
  assertEncodes([], "90");
  assertEncodes([1, "a", true, null], "94 01 a1 61 c3 c0");
  assertEncodes([[1], []], "92 91 01 90");
  assertEncodes(Array(16).fill(0), "dc 00 10" + " 00".repeat(16));
});

Deno.test("encode: objects and maps are fixmaps in insertion order", () => {
  assertEncodes({}, "80");
  assertEncodes({ a: 1, b: "x" }, "82 a1 61 01 a1 62 a1 78");
  // A map(string) such as labels.
  assertEncodes({ k1: "v1", k2: "v2" }, "82 a2 6b 31 a2 76 31 a2 6b 32 a2 76 32");
  // Nested objects, lists of objects (a LIST nested block) and null attributes.
  assertEncodes(
    { o: { x: 1, y: [true, null] } },
    "81 a1 6f 82 a1 78 01 a1 79 92 c3 c0",
  );
  assertEncodes(
    { pf: [{ g: 80, h: null }] },
    "81 a2 70 66 91 82 a1 67 50 a1 68 c0",
  );
});

// ---- decoding ----

Deno.test("decode: empty, null or undefined input is the null value", () => {
  assert.equal(decodeValue(undefined), null);
  assert.equal(decodeValue(null), null);
  assert.equal(decodeValue(new Uint8Array()), null);
  assert.equal(decodeValue(hex("c0")), null);
});

Deno.test("decode: fixext1 type 0 (d4 00 00) is UNKNOWN", () => {
  assert.equal(decodeValue(hex("d4 00 00")), UNKNOWN);
});

Deno.test("decode: refined unknowns (ext type 12 with a msgpack map payload) are UNKNOWN", () => {
  // ext8, length 3, type 12, payload {1: false} (refinement: not null).
  assert.equal(decodeValue(hex("c7 03 0c 81 01 c2")), UNKNOWN);
  // Not null, string prefix "ab": {1: false, 2: "ab"}.
  assert.equal(decodeValue(hex("c7 07 0c 82 01 c2 02 a2 61 62")), UNKNOWN);
  // Inside an object, next to known attributes.
  assertDecodes("82 a1 61 c7 03 0c 81 01 c2 a1 62 01", { a: UNKNOWN, b: 1 });
  assertDecodes("92 c7 03 0c 81 01 c2 d4 00 00", [UNKNOWN, UNKNOWN]);
});

Deno.test("decode: any other extension type and size reads as UNKNOWN", () => {
  for (
    const bytes of [
      "d4 05 00", // fixext1 type 5
      "d4 7f 00", // fixext1 type 127
      "d5 00 00 00", // fixext2 type 0
      "d6 0c 00 00 00 00", // fixext4 type 12
      "c7 00 00", // ext8, empty payload, type 0
      "c7 00 0c", // ext8, empty payload, type 12
      "c8 00 01 0c c0", // ext16, length 1, type 12
    ]
  ) {
    assert.equal(decodeValue(hex(bytes)), UNKNOWN, bytes);
  }
});

Deno.test("decode: scalars", () => {
  assertDecodes("2a", 42);
  assertDecodes("cd 02 00", 512);
  assertDecodes("ff", -1);
  assertDecodes("d0 df", -33);
  assertDecodes("d1 ff 38", -200);
  assertDecodes("cb 3f f8 00 00 00 00 00 00", 1.5);
  assertDecodes("ca 3f c0 00 00", 1.5); // float32, should Terraform ever send one
  assertDecodes("a2 68 69", "hi");
  assertDecodes("d9 02 68 69", "hi"); // str8
  assertDecodes("c3", true);
  assertDecodes("c2", false);
});

Deno.test("decode: arrays, nested objects and maps", () => {
  assertDecodes("90", []);
  assertDecodes("93 01 a1 61 c0", [1, "a", null]);
  assertDecodes("80", {});
  assertDecodes("81 a1 6f 82 a1 78 01 a1 79 92 c3 c0", { o: { x: 1, y: [true, null] } });
  // Object attributes arrive in cty's (sorted) order; keys keep that order.
  const o = decodeValue(hex("82 a1 61 01 a1 62 02")) as Record<string, CtyValue>;
  assert.deepEqual(Object.keys(o), ["a", "b"]);
  assertDecodes("82 a2 6b 31 a2 76 31 a2 6b 32 a2 76 32", { k1: "v1", k2: "v2" });
});

Deno.test("decode: trailing bytes are an error", () => {
  assert.throws(() => decodeValue(hex("c0 c0")));
});

// ---- numbers ----

Deno.test("toNumber: numbers arriving as int, float or decimal string", () => {
  assert.equal(toNumber(decodeValue(hex("2a")), "n"), 42);
  assert.equal(toNumber(decodeValue(hex("cd 02 00")), "n"), 512);
  assert.equal(toNumber(decodeValue(hex("ff")), "n"), -1);
  assert.equal(toNumber(decodeValue(hex("cb 3f f8 00 00 00 00 00 00")), "n"), 1.5);
  assert.equal(toNumber(decodeValue(hex("a3 35 31 32")), "n"), 512); // "512"
  assert.equal(toNumber("-7", "n"), -7);
  assert.equal(toNumber("2.5", "n"), 2.5);
  assert.equal(toNumber("1e3", "n"), 1000);
});

Deno.test("toNumber: null and UNKNOWN pass through", () => {
  assert.equal(toNumber(null, "n"), null);
  assert.equal(toNumber(UNKNOWN, "n"), UNKNOWN);
  assert.equal(toNumber(decodeValue(hex("c7 03 0c 81 01 c2")), "n"), UNKNOWN);
});

Deno.test("toNumber: a non-numeric value is a TypeError naming the path", () => {
  for (const bad of ["abc", "", "  ", "12abc", true, [1], { a: 1 }] as CtyValue[]) {
    assert.throws(
      () => toNumber(bad, "port_forward.0.guest_port"),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, `expected TypeError for ${JSON.stringify(bad)}`);
        assert.match(e.message, /^port_forward\.0\.guest_port: expected a number, got /);
        return true;
      },
    );
  }
  assert.throws(() => toNumber("abc", "memory_mb"), /memory_mb: .*"abc"/);
});

// ---- unknowns ----

Deno.test("isUnknown: only the UNKNOWN symbol", () => {
  assert.equal(isUnknown(UNKNOWN), true);
  for (const v of [null, undefined, 0, "", "unknown", false, [], {}, Symbol("unknown")]) {
    assert.equal(isUnknown(v), false, String(v));
  }
});

Deno.test("containsUnknown: finds UNKNOWN at any depth", () => {
  assert.equal(containsUnknown(UNKNOWN), true);
  assert.equal(containsUnknown([1, UNKNOWN]), true);
  assert.equal(containsUnknown({ a: { b: [null, { c: UNKNOWN }] } }), true);
  assert.equal(containsUnknown(decodeValue(hex("81 a1 61 c7 03 0c 81 01 c2"))), true);
});

Deno.test("containsUnknown: false for known values, including null and empty collections", () => {
  for (const v of [null, 0, 1.5, "", "x", true, false, [], {}, [null], { a: null, b: [1, "x"] }]) {
    assert.equal(containsUnknown(v as CtyValue), false, JSON.stringify(v));
  }
});

// ---- round trips ----

Deno.test("round trip: decode(encode(v)) is v", () => {
  const values: CtyValue[] = [
    null,
    UNKNOWN,
    0,
    42,
    -33,
    70000,
    2 ** 40,
    1.5,
    -0.25,
    "",
    "console=ttyS0 root=/dev/vda",
    "ünïcode ✓",
    true,
    false,
    [],
    {},
    [1, [2, [3, UNKNOWN]]],
    {
      id: UNKNOWN,
      name: "web",
      cpu_cores: 2,
      labels: { env: "test" },
      running: true,
      port_forward: [{ guest_port: 80, host_port: UNKNOWN, protocol: "tcp" }],
      disk: [],
      timeouts: null,
    },
  ];
  for (const v of values) {
    assert.deepEqual(decodeValue(encodeValue(v)), v);
  }
});

Deno.test("round trip: encode(decode(bytes)) reproduces canonical bytes", () => {
  for (
    const bytes of [
      "c0",
      "d4 00 00",
      "81 a1 61 d4 00 00",
      "2a",
      "d0 df",
      "cb 3f f8 00 00 00 00 00 00",
      "a2 68 69",
      "93 c3 c2 c0",
      "82 a1 61 91 01 a1 62 80",
    ]
  ) {
    assert.equal(toHex(encodeValue(decodeValue(hex(bytes)))), bytes);
  }
  // A refined unknown comes back as a plain unknown.
  assert.equal(toHex(encodeValue(decodeValue(hex("c7 03 0c 81 01 c2")))), "d4 00 00");
});
