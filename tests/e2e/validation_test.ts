// Bad input gets INVALID_ARGUMENT naming the field, and nothing is created.
import assert from "node:assert/strict";
import { e2eTest, guest, guestSpec } from "../helpers/env.ts";
import type { DeepPartial } from "../../src/api/client.ts";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { ApiError, Status } from "../../src/api/errors.ts";

type Case = [string, DeepPartial<T.CreateVmRequest>, RegExp];

e2eTest(
  "at least 20 bad inputs give INVALID_ARGUMENT naming the field, and create nothing",
  async (d) => {
    const g = guest("x86_64");
    const spec = guestSpec(g, { power_state: "POWER_OFF" });
    const k = { kernel_path: g.kernel, initrd_path: g.initrd, cmdline: g.cmdline };
    const ok = (name: string, s: DeepPartial<T.VmSpec> = {}): DeepPartial<T.CreateVmRequest> => ({
      meta: { name },
      spec: { ...spec, ...s },
    });
    const cases: Case[] = [
      ["name with /", ok("a/b"), /^meta\.name: /],
      ["name ..", ok(".."), /^meta\.name: /],
      ["empty name", ok(""), /^meta\.name: must not be empty/],
      ["300-character name", ok("a".repeat(300)), /^meta\.name: must be at most 63/],
      ["uppercase name", ok("Web"), /^meta\.name: /],
      ["name ending in -", ok("web-"), /^meta\.name: /],
      [
        "memory 0",
        ok("m0", { memory_mb: 0 }),
        /^spec\.memory_mb: must be between 64 and 1048576/,
      ],
      ["negative memory", ok("m1", { memory_mb: -512 }), /^spec\.memory_mb: /],
      ["huge memory", ok("m2", { memory_mb: 2 ** 30 }), /^spec\.memory_mb: /],
      [
        "unknown arch",
        ok("a1", { arch: "riscv64" }),
        /^spec\.arch: must be one of aarch64, x86_64/,
      ],
      ["empty arch", ok("a2", { arch: "" }), /^spec\.arch: /],
      ["too many cpus", ok("c1", { cpu_cores: 1000 }), /^spec\.cpu_cores: /],
      ["negative cpus", ok("c2", { cpu_cores: -2 }), /^spec\.cpu_cores: /],
      [
        "kernel that does not exist",
        ok("k1", { boot: { kernel: { ...k, kernel_path: "/nonexistent/vmlinuz" } } }),
        /^spec\.boot\.kernel\.kernel_path: "\/nonexistent\/vmlinuz": no such file/,
      ],
      [
        "relative kernel path",
        ok("k2", { boot: { kernel: { ...k, kernel_path: "../../etc/passwd" } } }),
        /^spec\.boot\.kernel\.kernel_path: must be an absolute path/,
      ],
      [
        "kernel path is a directory",
        ok("k3", { boot: { kernel: { ...k, kernel_path: "/tmp" } } }),
        /^spec\.boot\.kernel\.kernel_path: "\/tmp": not a regular file/,
      ],
      [
        "initrd inside the daemon's data dir",
        ok("k4", { boot: { kernel: { ...k, initrd_path: `${d.dataDir}/state.db` } } }),
        /^spec\.boot\.kernel\.initrd_path: .*data dir/,
      ],
      [
        "kernel and disk at once",
        ok("k5", { boot: { kernel: k, disk: { path: g.disk } } }),
        /^spec\.boot: set one of kernel, disk or volume/,
      ],
      [
        "missing extra disk",
        ok("d1", { disks: [{ path: "/nonexistent.qcow2" }] }),
        /^spec\.disks\[0\]\.path: /,
      ],
      [
        "unknown disk format",
        ok("d2", { disks: [{ path: g.disk, format: "vmdk" }] }),
        /^spec\.disks\[0\]\.format: must be one of qcow2, raw/,
      ],
      [
        "guest port 0",
        ok("p1", { network: { port_forwards: [{ guest_port: 0 }] } }),
        /^spec\.network\.port_forwards\[0\]\.guest_port: /,
      ],
      [
        "privileged host port",
        ok("p2", { network: { port_forwards: [{ guest_port: 80, host_port: 80 }] } }),
        /^spec\.network\.port_forwards\[0\]\.host_port: /,
      ],
      [
        "unknown protocol",
        ok("p3", { network: { port_forwards: [{ guest_port: 80, protocol: "sctp" }] } }),
        /^spec\.network\.port_forwards\[0\]\.protocol: /,
      ],
      [
        "unknown network mode",
        ok("n1", { network: { mode: "bridge" } }),
        /^spec\.network\.mode: /,
      ],
      ["unknown accelerator", ok("x1", { accelerator: "xen" }), /^spec\.accelerator: /],
      [
        "hvf off macOS",
        ok("x2", { accelerator: "hvf" }),
        /^spec\.accelerator: hvf is only available on macOS/,
      ],
      [
        "kvm for a foreign arch",
        ok("x3", { arch: "aarch64", accelerator: "kvm" }),
        /^spec\.accelerator: kvm cannot run aarch64 guests/,
      ],
      [
        "bad label key",
        { ...ok("l1"), meta: { name: "l1", labels: { "bad key": "x" } } },
        /^meta\.labels\["bad key"\]/,
      ],
      ["missing spec", { meta: { name: "s1" } }, /^spec: is required/],
    ];
    assert.ok(cases.length >= 20);
    for (const [what, req, field] of cases) {
      await assert.rejects(d.client.createVm(req), (e: unknown) => {
        assert.ok(e instanceof ApiError, `${what}: ${e}`);
        assert.equal(Status[e.code], "INVALID_ARGUMENT", `${what}: ${e.message}`);
        assert.match(e.message, field, what);
        return true;
      });
    }
    assert.deepEqual(
      (await d.client.listVms({ label_selector: "" })).vms,
      [],
      "nothing was created",
    );
    assert.deepEqual((await import("node:fs")).readdirSync(`${d.dataDir}/vms`), []);

    // A duplicate name is ALREADY_EXISTS (the proper gRPC code), naming the field.
    await d.client.createVm(ok("dup"));
    await assert.rejects(d.client.createVm(ok("dup")), (e: ApiError) => {
      assert.equal(Status[e.code], "ALREADY_EXISTS");
      assert.match(e.message, /^meta\.name: a VM named "dup" already exists/);
      return true;
    });
    // A host port held by another VM is refused for the second one.
    const a = await d.client.createVm(ok("port-a"));
    const held = a.status!.port_forwards[0].host_port;
    await assert.rejects(
      d.client.createVm(
        ok("port-b", { network: { port_forwards: [{ guest_port: 80, host_port: held }] } }),
      ),
      /spec\.network\.port_forwards\[0\]\.host_port: port \d+ is already forwarded by VM "port-a"/,
    );
    assert.deepEqual(
      (await d.client.listVms({ label_selector: "" })).vms.map((v) => v.meta!.name),
      ["dup", "port-a"],
    );
    // Unknown refs are NOT_FOUND; a bad selector is INVALID_ARGUMENT naming it.
    await assert.rejects(d.client.getVm("nope"), (e: ApiError) => Status[e.code] === "NOT_FOUND");
    await assert.rejects(
      d.client.listVms({ label_selector: "a in (b" }).then((r) => r.vms),
      /label_selector: /,
    );
  },
);

e2eTest("concurrent creates never collide on names or ports", async (d) => {
  const spec = guestSpec(guest("x86_64"), {
    power_state: "POWER_OFF",
    network: {
      mode: "user",
      port_forwards: [
        { guest_port: 80, host_port: 0, protocol: "tcp" },
        { guest_port: 22, host_port: 0, protocol: "tcp" },
      ],
    },
  });
  const results = await Promise.allSettled(
    Array.from(
      { length: 24 },
      (_, i) => d.client.createVm({ meta: { name: `c${i % 12}` }, spec }),
    ),
  );
  const ok = results.filter((r) => r.status === "fulfilled");
  assert.equal(ok.length, 12, "each of 12 names is created exactly once");
  const vms = (await d.client.listVms({ label_selector: "" })).vms;
  assert.equal(vms.length, 12);
  const ports = vms.flatMap((v) => v.status!.port_forwards.map((p) => p.host_port));
  assert.equal(new Set(ports).size, 24, "24 distinct host ports");
});
