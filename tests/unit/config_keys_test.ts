// infrasimd's config.toml keys: unknown ones are refused, naming the file, with the
// known key a typo most likely meant; broken TOML gives its line and column.
import assert from "node:assert/strict";
import { join } from "node:path";
import { closestKey, editDistance } from "../../src/daemon/config.ts";
import { assertConfigError, load, withDir } from "./config_fixtures.ts";

Deno.test(
  "unknown top-level key is rejected, naming the key and the file",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(() => load(dir, "bogus = 1\n"), `${file}: unknown key "bogus"`);
  }),
);

Deno.test(
  "unknown key in a table is rejected as table.key",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(() => load(dir, "[qemu]\nfoo = 1\n"), `${file}: unknown key "qemu.foo"`);
    assertConfigError(
      () => load(dir, "[ports]\nstart = 1\n"),
      `${file}: unknown key "ports.start"; did you mean "ports.range_start" ` +
        "(range_start in the [ports] table)?",
    );
    assertConfigError(() => load(dir, "[network]\nx = 1\n"), `${file}: unknown key "network"`);
  }),
);

Deno.test(
  "a table key given a scalar is rejected",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(() => load(dir, 'qemu = "tcg"\n'), `${file}: [qemu] must be a table`);
    assertConfigError(() => load(dir, "ports = [1, 2]\n"), `${file}: [ports] must be a table`);
  }),
);

Deno.test(
  "broken TOML is reported with the file's path",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(() => load(dir, "log_level = \n"), new RegExp(`^${file}: \\S`));
    assertConfigError(() => load(dir, "a b c\n"), new RegExp(`^${file}: `));
  }),
);

Deno.test(
  "a TOML syntax error gives its line and column, on one line",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(
      () => load(dir, 'log_level = "info"\n\n[qemu\naccelerator = "tcg"\n'),
      `${file}: line 3, column 6: invalid TOML: illegal character in key`,
    );
    assertConfigError(
      () => load(dir, "log_level = \n"),
      `${file}: line 1, column 13: invalid TOML: invalid value`,
    );
  }),
);

Deno.test(
  "an unknown key suggests the closest known one, and only when it is close",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    const cases: Array<[string, string]> = [
      ['log-level = "info"\n', '"log-level"; did you mean "log_level"?'],
      ['Log_Levl = "info"\n', '"Log_Levl"; did you mean "log_level"?'],
      ["stop_timeout = 5\n", '"stop_timeout"; did you mean "stop_timeout_seconds"?'],
      ["[port]\nrange_start = 30000\n", '"port"; did you mean "ports"?'],
      [
        '[qemu]\nacceleratr = "tcg"\n',
        '"qemu.acceleratr"; did you mean "qemu.accelerator" (accelerator in the [qemu] table)?',
      ],
      [
        'accelerator = "tcg"\n',
        '"accelerator"; did you mean "qemu.accelerator" (accelerator in the [qemu] table)?',
      ],
      ["bogus = 1\n", '"bogus"'],
      ["[network]\nmode = 1\n", '"network"'],
    ];
    for (const [toml, msg] of cases) {
      assertConfigError(() => load(dir, toml), `${file}: unknown key ${msg}`);
    }
  }),
);

Deno.test("closestKey and editDistance", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("LISTEN", "listen"), 0);
  assert.equal(closestKey("listn"), "listen");
  assert.equal(closestKey("qemu.binary_x86"), "qemu.binary_x86_64");
  assert.equal(closestKey("xyz"), undefined);
  assert.equal(closestKey("data"), "data_dir");
  assert.equal(closestKey("a", ["b"]), "b", "one edit is always close");
  assert.equal(closestKey("ab", ["cd"]), undefined);
});
