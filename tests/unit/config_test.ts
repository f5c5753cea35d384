// infrasimd configuration: defaults < config.toml < flags, strict keys and values,
// and the loopback-only listen address.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkLoopback, ConfigError, loadConfig } from "../../src/daemon/config.ts";
import { assertConfigError, load, withDir, withEnv } from "./config_fixtures.ts";

// ---- layers ----

Deno.test(
  "defaults: data dir from $INFRASIM_DATA_DIR, no config file needed",
  withDir((dir) => {
    withEnv({ INFRASIM_DATA_DIR: dir }, () => {
      assert.deepEqual(loadConfig({}), {
        data_dir: dir,
        listen: "127.0.0.1:50051",
        log_level: "info",
        stop_timeout_seconds: 30,
        qemu: { accelerator: "auto", binary_x86_64: "", binary_aarch64: "" },
        ports: { range_start: 20000, range_end: 29999 },
        events: { keep: 10000 },
        http: { listen: "127.0.0.1:50080" },
      });
    });
  }),
);

Deno.test(
  "defaults: data dir ~/.infrasim without $INFRASIM_DATA_DIR",
  withDir((dir) => {
    withEnv({ INFRASIM_DATA_DIR: undefined, HOME: dir }, () => {
      const cfg = loadConfig({});
      assert.equal(cfg.data_dir, join(dir, ".infrasim"));
      assert.equal(cfg.log_level, "info");
    });
  }),
);

Deno.test(
  "the default config file is $INFRASIM_DATA_DIR/config.toml",
  withDir((dir) => {
    writeFileSync(join(dir, "config.toml"), 'log_level = "warn"\n');
    withEnv({ INFRASIM_DATA_DIR: dir }, () => {
      assert.equal(loadConfig({}).log_level, "warn");
    });
  }),
);

Deno.test(
  "values from config.toml in --data-dir",
  withDir((dir) => {
    const cfg = load(
      dir,
      `
listen = "127.0.0.2:6000"
log_level = "debug"
stop_timeout_seconds = 5

[qemu]
accelerator = "tcg"
binary_x86_64 = "/opt/q/qemu-system-x86_64"
binary_aarch64 = "/opt/q/qemu-system-aarch64"

[ports]
range_start = 30000
range_end = 30010

[events]
keep = 500

[http]
listen = "127.0.0.1:8080"
`,
    );
    assert.deepEqual(cfg, {
      data_dir: dir,
      listen: "127.0.0.2:6000",
      log_level: "debug",
      stop_timeout_seconds: 5,
      qemu: {
        accelerator: "tcg",
        binary_x86_64: "/opt/q/qemu-system-x86_64",
        binary_aarch64: "/opt/q/qemu-system-aarch64",
      },
      ports: { range_start: 30000, range_end: 30010 },
      events: { keep: 500 },
      http: { listen: "127.0.0.1:8080" },
    });
  }),
);

Deno.test(
  "a partial [qemu] table keeps the other defaults",
  withDir((dir) => {
    const cfg = load(dir, '[qemu]\nbinary_x86_64 = "/q"\n');
    assert.deepEqual(cfg.qemu, { accelerator: "auto", binary_x86_64: "/q", binary_aarch64: "" });
    assert.deepEqual(cfg.ports, { range_start: 20000, range_end: 29999 });
  }),
);

Deno.test(
  "--config names the file; data_dir set in it is used",
  withDir((dir) => {
    const file = join(dir, "other.toml");
    const dataDir = join(dir, "data");
    writeFileSync(file, `data_dir = "${dataDir}"\nlog_level = "error"\n`);
    const cfg = loadConfig({ config: file });
    assert.equal(cfg.data_dir, dataDir);
    assert.equal(cfg.log_level, "error");
  }),
);

Deno.test(
  "--config wins over <data-dir>/config.toml",
  withDir((dir) => {
    writeFileSync(join(dir, "config.toml"), 'log_level = "warn"\n');
    const file = join(dir, "explicit.toml");
    writeFileSync(file, 'log_level = "debug"\n');
    assert.equal(loadConfig({ dataDir: dir, config: file }).log_level, "debug");
    assert.equal(loadConfig({ dataDir: dir }).log_level, "warn");
  }),
);

Deno.test(
  "flags override the file",
  withDir((dir) => {
    const other = join(dir, "d2");
    writeFileSync(
      join(dir, "explicit.toml"),
      `data_dir = "${join(dir, "d1")}"
listen = "127.0.0.1:7000"
log_level = "debug"
[qemu]
accelerator = "tcg"
`,
    );
    const cfg = loadConfig({
      config: join(dir, "explicit.toml"),
      dataDir: other,
      listen: "[::1]:7001",
      logLevel: "warn",
      accelerator: "kvm",
    });
    assert.equal(cfg.data_dir, other);
    assert.equal(cfg.listen, "[::1]:7001");
    assert.equal(cfg.log_level, "warn");
    assert.equal(cfg.qemu.accelerator, "kvm");
  }),
);

Deno.test(
  '--listen "" disables TCP even when the file sets it',
  withDir((dir) => {
    assert.equal(load(dir, 'listen = "127.0.0.1:7000"\n', { listen: "" }).listen, "");
    assert.equal(load(dir, 'listen = ""\n').listen, "");
  }),
);

Deno.test(
  "~ and relative paths are expanded and resolved",
  withDir((dir) => {
    withEnv({ HOME: dir }, () => {
      assert.equal(loadConfig({ dataDir: "~/d" }).data_dir, join(dir, "d"));
      assert.equal(loadConfig({ dataDir: "~" }).data_dir, dir);
      writeFileSync(join(dir, "c.toml"), 'log_level = "warn"\n');
      assert.equal(loadConfig({ dataDir: dir, config: "~/c.toml" }).log_level, "warn");
    });
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      assert.equal(loadConfig({ dataDir: "rel-dir" }).data_dir, join(dir, "rel-dir"));
      assert.equal(loadConfig({ dataDir: "rel-dir" }).data_dir, resolve("rel-dir"));
    } finally {
      Deno.chdir(cwd);
    }
  }),
);

// ---- errors ----

Deno.test(
  "a missing explicit --config is an error; a missing default file is not",
  withDir((dir) => {
    const missing = join(dir, "nope.toml");
    assertConfigError(
      () => loadConfig({ dataDir: dir, config: missing }),
      `--config: ${missing} does not exist`,
    );
    assert.equal(loadConfig({ dataDir: dir }).log_level, "info");
  }),
);

Deno.test(
  "bad log_level from the file and from a flag",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(
      () => load(dir, 'log_level = "loud"\n'),
      `${file}: log_level: must be one of debug, info, warn, error (got "loud")`,
    );
    assertConfigError(
      () => load(dir, null, { logLevel: "trace" }),
      'flag: log_level: must be one of debug, info, warn, error (got "trace")',
    );
    assertConfigError(() => load(dir, "log_level = 1\n"), /log_level: must be one of/);
  }),
);

Deno.test(
  "bad accelerator from the file and from a flag",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(
      () => load(dir, '[qemu]\naccelerator = "xen"\n'),
      `${file}: qemu.accelerator: must be one of auto, hvf, kvm, tcg (got "xen")`,
    );
    assertConfigError(
      () => load(dir, null, { accelerator: "x" }),
      'flag: qemu.accelerator: must be one of auto, hvf, kvm, tcg (got "x")',
    );
    for (const a of ["auto", "hvf", "kvm", "tcg"]) {
      assert.equal(load(dir, null, { accelerator: a }).qemu.accelerator, a);
    }
  }),
);

Deno.test(
  "ports out of range or out of order",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(
      () => load(dir, "[ports]\nrange_start = 80\n"),
      `${file}: ports.range_start: must be an integer between 1024 and 65535`,
    );
    assertConfigError(
      () => load(dir, "[ports]\nrange_end = 70000\n"),
      `${file}: ports.range_end: must be an integer between 1024 and 65535`,
    );
    assertConfigError(
      () => load(dir, "[ports]\nrange_start = 2000.5\n"),
      `${file}: ports.range_start: must be an integer between 1024 and 65535`,
    );
    assertConfigError(
      () => load(dir, '[ports]\nrange_start = "2000"\n'),
      `${file}: ports.range_start: must be an integer between 1024 and 65535`,
    );
    assertConfigError(
      () => load(dir, "[ports]\nrange_start = 30000\nrange_end = 29999\n"),
      "ports.range_start: must not be above ports.range_end",
    );
    // Out of order against a default is caught too.
    assertConfigError(
      () => load(dir, "[ports]\nrange_start = 40000\n"),
      "ports.range_start: must not be above ports.range_end",
    );
    const one = load(dir, "[ports]\nrange_start = 1024\nrange_end = 1024\n");
    assert.deepEqual(one.ports, { range_start: 1024, range_end: 1024 });
    const top = load(dir, "[ports]\nrange_start = 65535\nrange_end = 65535\n");
    assert.deepEqual(top.ports, { range_start: 65535, range_end: 65535 });
  }),
);

Deno.test(
  "stop_timeout_seconds range and type",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    for (const v of ["0", "3601", "-1", "1.5", '"30"']) {
      assertConfigError(
        () => load(dir, `stop_timeout_seconds = ${v}\n`),
        `${file}: stop_timeout_seconds: must be an integer between 1 and 3600`,
      );
    }
    assert.equal(load(dir, "stop_timeout_seconds = 1\n").stop_timeout_seconds, 1);
    assert.equal(load(dir, "stop_timeout_seconds = 3600\n").stop_timeout_seconds, 3600);
  }),
);

Deno.test(
  "string keys must be strings",
  withDir((dir) => {
    const file = join(dir, "config.toml");
    assertConfigError(() => load(dir, "listen = 50051\n"), `${file}: listen: must be a string`);
    assertConfigError(
      () => load(dir, "[qemu]\nbinary_x86_64 = true\n"),
      `${file}: qemu.binary_x86_64: must be a string`,
    );
  }),
);

Deno.test(
  "non-loopback listen from the file or a flag stops startup",
  withDir((dir) => {
    assertConfigError(
      () => load(dir, 'listen = "0.0.0.0:50051"\n'),
      "listen: 0.0.0.0 is not a loopback address; infrasimd only listens on 127.0.0.1, ::1 or localhost",
    );
    assertConfigError(
      () => load(dir, '[http]\nlisten = "0.0.0.0:80"\n'),
      /^http\.listen: 0\.0\.0\.0 is not a loopback address/,
    );
    assert.equal(load(dir, null, { httpListen: "" }).http.listen, "");
    assertConfigError(
      () => load(dir, null, { listen: "10.0.0.1:1" }),
      /^listen: 10\.0\.0\.1 is not a loopback address/,
    );
  }),
);

Deno.test("data_dir longer than 50 characters is refused", () => {
  const long = "/tmp/" + "a".repeat(46); // 51 characters
  assertConfigError(
    () => loadConfig({ dataDir: long }),
    `data_dir: ${long} is 51 characters; at most 50 fit the unix socket path limit`,
  );
  const fifty = "/tmp/" + "a".repeat(45);
  assert.equal(loadConfig({ dataDir: fifty }).data_dir, fifty);
});

// ---- checkLoopback ----

Deno.test("checkLoopback refuses non-loopback hosts", () => {
  for (
    const [listen, host] of [
      ["0.0.0.0:50051", "0.0.0.0"],
      ["10.0.0.1:1", "10.0.0.1"],
      ["192.168.1.10:50051", "192.168.1.10"],
      ["[::]:50051", "::"],
      ["example.com:80", "example.com"],
      ["127.0.0.1.nip.io:80", "127.0.0.1.nip.io"],
      ["localhost.example.com:80", "localhost.example.com"],
    ]
  ) {
    assertConfigError(
      () => checkLoopback(listen),
      `listen: ${host} is not a loopback address; infrasimd only listens on 127.0.0.1, ::1 or localhost`,
    );
  }
});

Deno.test('checkLoopback accepts 127.0.0.0/8, ::1 and localhost, and ""', () => {
  for (
    const ok of ["127.0.0.1:50051", "127.1.2.3:1", "[::1]:50051", "localhost:50051", "localhost:0"]
  ) {
    checkLoopback(ok);
  }
  checkLoopback("");
});

Deno.test("checkLoopback refuses what is not host:port, or a port out of range", () => {
  for (const bad of ["127.0.0.1", "localhost:", "localhost:http", ":50051", "127.0.0.1:-1"]) {
    assertConfigError(() => checkLoopback(bad), `listen: ${JSON.stringify(bad)} is not host:port`);
  }
  assertConfigError(() => checkLoopback("127.0.0.1:65536"), "listen: port 65536 is out of range");
  assertConfigError(() => checkLoopback("0.0.0.0:1", "tcp"), /^tcp: 0\.0\.0\.0 is not/);
});

// Documents the intended behaviour; fails today (see the report). checkLoopback's pattern
// `^\[?([^\]]+?)\]?:(\d+)$` makes each bracket optional on its own, so unbalanced brackets and
// an unbracketed IPv6 address pass, and infrasimd then fails at bind time (exit 1) instead of
// with a config error (exit 2). Un-ignore once the pattern requires balanced brackets.
Deno.test({
  name: "checkLoopback refuses unbalanced brackets and unbracketed IPv6",
  fn() {
    for (const bad of ["[127.0.0.1:50051", "127.0.0.1]:50051", "::1:50051", "[localhost:1"]) {
      assert.throws(() => checkLoopback(bad), ConfigError, bad);
    }
  },
});
