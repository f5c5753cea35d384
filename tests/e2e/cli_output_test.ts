// The CLI's output and numbers: complete output through slow pipes, ranges checked
// before anything is encoded.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { e2eTest, guest, guestSpec, INFRASIM, sleep } from "../helpers/env.ts";

e2eTest(
  "cli: -o json vm list of 200 VMs into a pipe whose reader starts late is complete",
  async (d) => {
    const spec = guestSpec(guest("x86_64"), { power_state: "POWER_OFF" });
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          d.client.createVm({
            meta: { name: `vm-${String(i + j).padStart(3, "0")}`, labels: { batch: String(i) } },
            spec,
          })),
      );
    }
    const child = spawn(INFRASIM, ["-o", "json", "vm", "list"], {
      env: { ...process.env, INFRASIM_DATA_DIR: d.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number>((r) => child.once("close", (code) => r(code ?? -1)));
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    // Nobody reads stdout for a while: the pipe fills and the CLI must wait, not exit.
    await sleep(1500);
    const chunks: Uint8Array[] = [];
    child.stdout.on("data", (c: Uint8Array) => chunks.push(c));
    const code = await exited;
    const out = new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    );
    assert.equal(code, 0, stderr);
    assert.ok(out.length > 64 * 1024, `${out.length} bytes`);
    const vms = JSON.parse(out);
    assert.equal(vms.length, 200);
    assert.equal(vms[199].meta.name, "vm-199");
  },
);

e2eTest("cli: numbers out of range are refused naming the flag, and nothing is created", (d) => {
  const cases: Array<[string[], RegExp]> = [
    [["--cpu", "4294967297"], /--cpu: must be between 1 and 256/],
    [["--cpu", "0"], /--cpu: must be between 1 and 256/],
    [["--cpu", "-1"], /--cpu/],
    [["--memory", "4294967808"], /--memory: must be between 64 and 1048576/],
    [["--port", "4294967376:80"], /--port: host port must be between/],
    [["--port", "8080:4294967376"], /--port: guest port must be between/],
    [["--port", "70000"], /--port: guest port must be between/],
  ];
  for (const [args, msg] of cases) {
    const r = d.cli(["vm", "create", "--name", "wrap", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(" "));
  }
  const t = d.cli(["vm", "stop", "--timeout", "4294967297", "x"]);
  assert.equal(t.code, 2, t.stderr);
  assert.match(t.stderr, /--timeout: must be between 0 and/);
  assert.equal(d.cli(["vm", "list", "-o", "json"]).stdout.trim(), "[]");
});
