// The snapshot kind's pure parts: default names, spec validation, which disks a snapshot
// holds, whether a QEMU can load a memory snapshot, and qemu-img's command lines.
import { parseAgentStream, setGuestTime } from "../../src/qemu/guest_agent.ts";
import { guestAgentArgs } from "../../src/qemu/args.ts";
import assert from "node:assert/strict";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { ApiError, Status } from "../../src/api/errors.ts";
import { validateName } from "../../src/api/validate/common.ts";
import { defaultSnapshotName, normalizeSnapshotSpec } from "../../src/api/validate/snapshot.ts";
import { normalizeCheckpointSpec } from "../../src/api/validate/checkpoint.ts";
import { hardwareOf, planDisks } from "../../src/daemon/controllers/snapshot/disks.ts";
import { snapshotArgs } from "../../src/qemu/img.ts";
import { loadProblem } from "../../src/qemu/snapshot.ts";
import type { VolumeStore } from "../../src/store/volume_store.ts";

Deno.test("snapshot names: <vm>-<UTC time>, always a DNS label of at most 63", () => {
  const at = new Date("2026-12-03T16:15:02.123Z");
  assert.equal(defaultSnapshotName("web", at), "web-20261203-161502");
  const long = defaultSnapshotName("a".repeat(50) + "-b".repeat(6), at);
  assert.ok(long.length <= 63, long);
  assert.equal(validateName(long), long);
});

Deno.test("snapshot spec: the VM is required, the description bounded", () => {
  assert.deepEqual(normalizeSnapshotSpec({ vm: " web ", include_memory: true, description: "" }), {
    vm: "web",
    include_memory: true,
    description: "",
  });
  assert.throws(
    () => normalizeSnapshotSpec({ vm: "", include_memory: false, description: "x".repeat(2000) }),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.deepEqual(e.violations.map((v) => v.field), ["spec.vm", "spec.description"]);
      return true;
    },
  );
});

const vol = (id: string, path: string) => ({ meta: { id, name: id }, status: { path } });
const volumes = {
  find: (ref: string) =>
    ({ root: vol("root", "/d/root.qcow2"), ro: vol("ro", "/d/ro.qcow2") })[
      ref as "root" | "ro"
    ],
} as unknown as VolumeStore;

function spec(extra: Partial<T.VmSpec>): T.VmSpec {
  return {
    arch: "x86_64",
    machine: "q35",
    cpu_cores: 1,
    memory_mb: 256,
    boot: { volume: { volume: "root", firmware_path: "" } },
    disks: [],
    network: { mode: "user", port_forwards: [] },
    accelerator: "",
    power_state: "POWER_ON",
    volumes: [],
    cloud_init: null,
    wait_for: null,
    network_interfaces: [],
    ...extra,
  } as T.VmSpec;
}

Deno.test("snapshot disks: writable qcow2 held, the rest left out with why", async () => {
  const s = spec({
    volumes: [{ volume: "ro", read_only: true }],
    disks: [{ path: "/u/data.qcow2", format: "", read_only: false }],
    cloud_init: { user_data: "", meta_data: "", network_config: "" } as T.CloudInit,
  });
  const disks = await planDisks(
    { name: "web", spec: s },
    volumes,
    () => Promise.resolve("qcow2"),
    "/v/efivars.fd",
  );
  assert.deepEqual(
    disks.map((d) => [d.field, d.included]),
    [
      ["spec.boot.volume.volume", true],
      ["spec.volumes[0].volume", false],
      ["spec.disks[0].path", true],
      ["spec.cloud_init", false],
      ["spec.boot", false],
    ],
  );
  assert.equal(disks[0].volume_id, "root");
  assert.match(disks[1].reason, /read-only/);
  assert.match(disks[4].reason, /UEFI variable store/);
});

Deno.test("snapshot disks: a writable raw disk is refused on spec.vm, naming it", async () => {
  const s = spec({ disks: [{ path: "/u/raw.img", format: "", read_only: false }] });
  await assert.rejects(
    planDisks(
      { name: "web", spec: s },
      volumes,
      (p) => Promise.resolve(p.endsWith(".img") ? "raw" : "qcow2"),
      "",
    ),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, Status.FAILED_PRECONDITION);
      assert.equal(e.violations[0].field, "spec.vm");
      assert.match(e.message, /spec\.disks\[0\]\.path .*raw\.img.* is raw/);
      return true;
    },
  );
});

Deno.test("snapshot hardware: memory and disks count, wait_for does not", () => {
  const a = spec({});
  assert.notEqual(hardwareOf(a), hardwareOf({ ...a, memory_mb: 512 }));
  assert.notEqual(
    hardwareOf(a),
    hardwareOf({ ...a, volumes: [{ volume: "ro", read_only: true }] }),
  );
  assert.equal(hardwareOf(a), hardwareOf({ ...a, wait_for: { guest_port: 22, serial: "" } }));
});

Deno.test("snapshot load: the same machine type and a QEMU not older", () => {
  const saved = { qemuVersion: "7.2.22", machine: "pc-q35-7.2" };
  assert.equal(loadProblem(saved, saved), undefined);
  assert.equal(loadProblem(saved, { qemuVersion: "7.2.23", machine: "pc-q35-7.2" }), undefined);
  assert.match(
    loadProblem(saved, { qemuVersion: "8.0.0", machine: "pc-q35-8.0" })!,
    /saved by QEMU 7\.2\.22 \(machine pc-q35-7\.2\).*QEMU 8\.0\.0 \(machine pc-q35-8\.0\)/,
  );
  assert.match(loadProblem(saved, { qemuVersion: "7.1.0", machine: "pc-q35-7.2" })!, /7\.1\.0/);
});

Deno.test("qemu-img snapshot: the format pinned, commas in the path doubled", () => {
  assert.deepEqual(snapshotArgs("apply", "t1", "/a,b/x.qcow2"), [
    "snapshot",
    "-q",
    "--image-opts",
    "-a",
    "t1",
    "driver=qcow2,file.driver=file,file.filename=/a,,b/x.qcow2",
  ]);
});

Deno.test("checkpoint spec: a selector that does not parse is refused on its field", () => {
  assert.deepEqual(normalizeCheckpointSpec({ label_selector: " lab=x ", description: "" }), {
    label_selector: "lab=x",
    description: "",
  });
  assert.deepEqual(normalizeCheckpointSpec(undefined), { label_selector: "", description: "" });
  assert.throws(
    () => normalizeCheckpointSpec({ label_selector: "a==(", description: "" }),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.violations[0].field, "spec.label_selector");
      return true;
    },
  );
});

Deno.test("guest agent stream: replies count only after the sync's 0xFF, whole lines only", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const join = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), at += p.length);
    return out;
  };
  assert.equal(parseAgentStream(enc('{"return": 7}\n')), undefined, "stale, before the sync");
  const ff = new Uint8Array([0xff]);
  assert.deepEqual(parseAgentStream(join(enc("junk"), ff, enc('{"return": 42}\n{"ret'))), [
    { return: 42 },
  ]);
  assert.deepEqual(parseAgentStream(join(ff, enc('{"return": 42}\n{"return": {}}\n'))), [
    { return: 42 },
    { return: {} },
  ]);
});

Deno.test("guest agent arguments: a named virtio-serial port on its own socket, commas doubled", () => {
  const args = guestAgentArgs("/d,1/qga.sock");
  assert.deepEqual(args, [
    "-chardev",
    "socket,id=qga0,path=/d,,1/qga.sock,server=on,wait=off",
    "-device",
    "virtio-serial-pci,id=vser0",
    "-device",
    "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
  ]);
});

Deno.test("setGuestTime: no channel (an older QEMU) and a channel nobody answers, each said", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.equal(
      await setGuestTime(`${dir}/none.sock`, 1n, 500),
      "the VM has no guest agent channel: restart it to get one",
    );
    // A socket that accepts and never answers: QEMU's, with no agent in the guest.
    const { createServer } = await import("node:net");
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(`${dir}/qga.sock`, r));
    try {
      assert.equal(
        await setGuestTime(`${dir}/qga.sock`, 1n, 300),
        "no guest agent answered within 300 ms",
      );
    } finally {
      server.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
