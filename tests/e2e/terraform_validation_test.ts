// Bad HCL: every case is an error diagnostic that points at the attribute's line,
// and nothing is created. Also the provider's own startup contract.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { e2eTest, guest, INFRASIM } from "../helpers/env.ts";
import { vmHcl, Workspace } from "../helpers/terraform.ts";
import { join } from "node:path";
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from "../../src/provider/main.ts";

const g = guest("x86_64");
const PROVIDER = join(INFRASIM, "../terraform-provider-infrasim");

// [what, extra HCL inside the resource (or a replacement), the attribute the error points at]
const CASES: Array<[string, (base: string) => string, string]> = [
  ["memory_mb = 0", (b) => b.replace("memory_mb = 256", "memory_mb = 0"), "memory_mb = 0"],
  ["negative memory", (b) => b.replace("memory_mb = 256", "memory_mb = -512"), "memory_mb = -512"],
  [
    "huge memory",
    (b) => b.replace("memory_mb = 256", "memory_mb = 99999999"),
    "memory_mb = 99999999",
  ],
  [
    "unknown arch",
    (b) => b.replace('arch      = "x86_64"', 'arch      = "riscv64"'),
    'arch      = "riscv64"',
  ],
  [
    "bad name",
    (b) => b.replace('name      = "ok"', 'name      = "Bad_Name"'),
    'name      = "Bad_Name"',
  ],
  [
    "name with a slash",
    (b) => b.replace('name      = "ok"', 'name      = "a/b"'),
    'name      = "a/b"',
  ],
  [
    "missing kernel file",
    (b) => b.replace(g.kernel, "/nonexistent/vmlinuz"),
    'kernel    = "/nonexistent/vmlinuz"',
  ],
  ["relative kernel path", (b) => b.replace(g.kernel, "vmlinuz"), 'kernel    = "vmlinuz"'],
  [
    "too many cores",
    (b) => b.replace("memory_mb = 256", "memory_mb = 256\n  cpu_cores = 1000"),
    "cpu_cores = 1000",
  ],
  [
    "cpu_cores past 2^32 (would wrap to 1)",
    (b) => b.replace("memory_mb = 256", "memory_mb = 256\n  cpu_cores = 4294967297"),
    "cpu_cores = 4294967297",
  ],
  [
    "memory_mb past 2^32 (would wrap to 512)",
    (b) => b.replace("memory_mb = 256", "memory_mb = 4294967808"),
    "memory_mb = 4294967808",
  ],
  [
    "host_port past 2^32",
    (b) =>
      b.replace(
        "}\n",
        "  port_forward {\n    guest_port = 80\n    host_port = 4294967376\n  }\n}\n",
      ),
    "host_port = 4294967376",
  ],
  [
    "guest port 0",
    (b) => b.replace("}\n", "  port_forward {\n    guest_port = 0\n  }\n}\n"),
    "guest_port = 0",
  ],
  [
    "bad protocol",
    (b) =>
      b.replace("}\n", '  port_forward {\n    guest_port = 80\n    protocol = "sctp"\n  }\n}\n'),
    'protocol = "sctp"',
  ],
  [
    "missing disk",
    (b) => b.replace("}\n", '  disk {\n    path = "/nonexistent.qcow2"\n  }\n}\n'),
    'path = "/nonexistent.qcow2"',
  ],
  [
    "bad label key",
    (b) => b.replace("memory_mb = 256", 'memory_mb = 256\n  labels = { "bad key" = "x" }'),
    'labels = { "bad key" = "x" }',
  ],
  [
    "boot_volume beside kernel",
    (b) => b.replace("memory_mb = 256", 'memory_mb = 256\n  boot_volume = "root"'),
    'boot_volume = "root"',
  ],
  [
    "not an ssh key",
    (b) => b.replace("}\n", '  cloud_init {\n    ssh_authorized_keys = ["hunter2"]\n  }\n}\n'),
    'ssh_authorized_keys = ["hunter2"]',
  ],
  [
    "a host name with an underscore",
    (b) => b.replace("}\n", '  cloud_init {\n    hostname = "web_1"\n  }\n}\n'),
    'hostname = "web_1"',
  ],
  [
    "wait_for a port that is not forwarded",
    (b) => b.replace("}\n", "  wait_for {\n    guest_port = 22\n  }\n}\n"),
    "guest_port = 22",
  ],
  [
    "bad timeout",
    (b) => b.replace("}\n", '  timeouts {\n    create = "soon"\n  }\n}\n'),
    'create = "soon"',
  ],
];

e2eTest(
  "terraform: three bad fields are three diagnostics, each on its attribute, nested blocks too",
  async (d) => {
    const ws = new Workspace(d);
    try {
      const hcl = vmHcl(
        "three",
        g,
        '  cpu_cores = 999\n  network_interface {\n    network_id = "wan"\n' +
          "    link_qos {\n      latency_ms = -5\n    }\n  }\n",
      ).replace("memory_mb = 256", "memory_mb = 10");
      ws.write(hcl);
      const r = await ws.run("validate", "-json");
      const out = JSON.parse(r.stdout) as {
        valid: boolean;
        diagnostics: Array<
          { severity: string; summary: string; range?: { start: { line: number } } }
        >;
      };
      assert.equal(out.valid, false);
      const lines = readFileSync(join(ws.dir, "main.tf"), "utf8").split("\n");
      const at = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;
      assert.deepEqual(
        out.diagnostics.filter((x) => x.severity === "error").map((x) => [
          x.summary,
          x.range?.start.line,
        ]).sort(),
        [
          ["Invalid cpu_cores", at("cpu_cores = 999")],
          ["Invalid memory_mb", at("memory_mb = 10")],
          ["Invalid network_interface.0.link_qos.0.latency_ms", at("latency_ms = -5")],
        ].sort(),
        r.stdout,
      );
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest(
  "terraform: at least 10 kinds of bad HCL give errors at the attribute, creating nothing",
  async (d) => {
    assert.ok(CASES.length >= 10);
    const ws = new Workspace(d);
    try {
      const base = vmHcl("ok", g, "", "bad");
      for (const [what, edit, line] of CASES) {
        ws.write(edit(base));
        const r = await ws.run("plan");
        const out = r.stdout + r.stderr;
        assert.equal(r.code, 1, `${what}: plan should fail:\n${out}`);
        assert.match(out, /Error: /, what);
        // Terraform quotes the configuration line the attribute path points at.
        const src = readFileSync(join(ws.dir, "main.tf"), "utf8").split("\n");
        const lineNo = src.findIndex((l) => l.includes(line)) + 1;
        assert.ok(lineNo > 0, `${what}: test setup`);
        assert.ok(
          out.includes(`${lineNo}: ${src[lineNo - 1].trimEnd()}`) ||
            out.includes(`${lineNo}:${src[lineNo - 1].trimEnd()}`),
          `${what}: the error should point at line ${lineNo} (${line}):\n${out}`,
        );
      }
      assert.deepEqual(
        (await d.client.listVms({ label_selector: "" })).vms,
        [],
        "nothing was created",
      );
    } finally {
      ws.cleanup();
    }
  },
);

e2eTest(
  "provider: an unreachable daemon is one clear diagnostic saying how to start it",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(vmHcl("ok", g, "", "x"));
      await d.stop();
      const r = await ws.run("plan");
      assert.equal(r.code, 1);
      const out = r.stdout + r.stderr;
      assert.equal(out.match(/^Error: /gm)?.length, 1, out);
      assert.match(out, /Error: Cannot reach infrasimd/);
      assert.match(out, /Start the daemon with `infrasimd`/);
      await d.launch();
    } finally {
      ws.cleanup();
    }
  },
);

Deno.test("provider: without the magic cookie it explains itself and exits 1", () => {
  const r = spawnSync(PROVIDER, [], { encoding: "utf8", env: { PATH: process.env.PATH } });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /This binary is a plugin/);
});

Deno.test({
  name: "provider: handshake line with AutoMTLS; Shutdown over mTLS exits in under 500 ms",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await import("reflect-metadata");
    const { generateServerCert } = await import("../../src/provider/tls.ts");
    const grpc = await import("@grpc/grpc-js");
    const { serviceClient } = await import("../../src/api/proto.ts");
    const { Buffer } = await import("node:buffer");
    const client = await generateServerCert(); // Terraform's side: a self-signed CA cert
    const t0 = performance.now();
    const child = spawn(PROVIDER, [], {
      env: {
        PATH: process.env.PATH,
        [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
        PLUGIN_PROTOCOL_VERSIONS: "5,6",
        PLUGIN_CLIENT_CERT: client.certPem,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const line = await new Promise<string>((resolve) => {
      let buf = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => {
        buf += c;
        if (buf.includes("\n")) resolve(buf);
      });
    });
    console.log(`  launch -> handshake: ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(line.split("\n").filter(Boolean).length, 1, "exactly one line on stdout");
    const [core, proto, net, addr, kind, cert] = line.trim().split("|");
    assert.deepEqual([core, proto, net, kind], ["1", "6", "unix", "grpc"]);
    assert.doesNotMatch(cert, /=$/, "no base64 padding");
    const serverPem = `-----BEGIN CERTIFICATE-----\n${
      Buffer.from(cert, "base64").toString("base64").replace(/(.{64})/g, "$1\n").trimEnd()
    }\n-----END CERTIFICATE-----\n`;
    const creds = grpc.credentials.createSsl(
      Buffer.from(serverPem),
      Buffer.from(client.keyPem),
      Buffer.from(client.certPem),
      { checkServerIdentity: () => undefined },
    );
    const opts = { "grpc.ssl_target_name_override": "localhost" };
    const Health = serviceClient("grpc.health.v1.Health");
    const h = new Health(`unix:${addr}`, creds, opts);
    // deno-lint-ignore no-explicit-any
    const health = await new Promise<any>((res, rej) =>
      // deno-lint-ignore no-explicit-any
      (h as any).Check({ service: "plugin" }, (e: Error, r: unknown) => (e ? rej(e) : res(r)))
    );
    assert.equal(health.status, "SERVING");
    // Without a client certificate the server refuses the connection.
    const anon = new Health(
      `unix:${addr}`,
      grpc.credentials.createSsl(Buffer.from(serverPem)),
      opts,
    );
    await assert.rejects(
      new Promise((res, rej) =>
        // deno-lint-ignore no-explicit-any
        (anon as any).Check(
          { service: "plugin" },
          { deadline: Date.now() + 3000 },
          (e: Error, r: unknown) => e ? rej(e) : res(r),
        )
      ),
    );
    // An RPC the provider does not implement is UNIMPLEMENTED, not an error diagnostic.
    const Provider = serviceClient("tfplugin6.Provider");
    const pc = new Provider(`unix:${addr}`, creds, opts);
    const err = await new Promise<{ code: number }>((res) =>
      // deno-lint-ignore no-explicit-any
      (pc as any).GetFunctions({}, (e: { code: number }) => res(e))
    );
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
    pc.close();
    const Controller = serviceClient("plugin.GRPCController");
    const c = new Controller(`unix:${addr}`, creds, opts);
    const exited = new Promise<number>((r) => child.once("exit", () => r(performance.now())));
    const t1 = performance.now();
    // deno-lint-ignore no-explicit-any
    await new Promise((res) => (c as any).Shutdown({}, () => res(null)));
    const ms = (await exited) - t1;
    console.log(`  Shutdown -> exit: ${ms.toFixed(0)} ms`);
    assert.ok(ms < 500, `exited after ${ms} ms`);
    h.close();
    anon.close();
    c.close();
  },
});

e2eTest(
  "terraform: a blank infrasim_volume without size_gb is an error on the attribute",
  async (d) => {
    const ws = new Workspace(d);
    try {
      ws.write(`resource "infrasim_volume" "v" {\n  name = "data"\n}\n`);
      const r = await ws.run("plan");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Invalid size_gb[\s\S]*is required for a blank volume/);
      ws.write(`resource "infrasim_volume" "v" {\n  name    = "data"\n  size_gb = 0\n}\n`);
      const z = await ws.run("plan");
      assert.equal(z.code, 1);
      assert.match(z.stderr, /size_gb/);
      assert.deepEqual((await d.client.listVolumes({ label_selector: "" })).volumes, []);
    } finally {
      ws.cleanup();
    }
  },
);
