// The infrasim_vm resource without a daemon: planning (defaults, computed values,
// requires_replace) through the shared framework.
import assert from "node:assert/strict";
import { type CtyValue, UNKNOWN } from "../../src/provider/framework/cty.ts";
import {
  assertAllAttributes,
  COMPUTED_ONLY,
  config,
  created,
  disk,
  FILE,
  HOST_ARCH,
  HOST_MACHINE,
  type Obj,
  OTHER_ARCH,
  pf,
  planVm,
  proposedFor,
  sortedKeys,
  wire,
} from "./provider_fixtures.ts";

// ---- planVm: create ----

Deno.test("planVm create: defaults are filled where the configuration is null", () => {
  const cfg = config();
  const { planned, replace } = planVm(null, cfg, cfg);
  assert.deepEqual(replace, []);
  assertAllAttributes(planned);
  assert.equal(planned.name, "web");
  assert.equal(planned.arch, HOST_ARCH);
  assert.equal(planned.machine, HOST_MACHINE);
  assert.equal(planned.cpu_cores, 1);
  assert.equal(planned.memory_mb, 512);
  assert.equal(planned.running, true);
  assert.equal(planned.kernel, FILE);
  assert.equal(planned.initrd, null);
  assert.equal(planned.cmdline, null);
  assert.equal(planned.boot_disk, null);
  assert.equal(planned.labels, null);
  assert.deepEqual(planned.disk, []);
  assert.deepEqual(planned.port_forward, []);
  assert.equal(planned.timeouts, null);
});

Deno.test("planVm create: computed-only attributes are unknown, state is RUNNING", () => {
  const cfg = config();
  const { planned } = planVm(null, cfg, cfg);
  for (const a of COMPUTED_ONLY) assert.equal(planned[a], UNKNOWN, a);
  assert.equal(planned.state, "RUNNING");
});

Deno.test("planVm create: running = false plans state PENDING (never started)", () => {
  const cfg = config({ running: false });
  const { planned } = planVm(null, cfg, cfg);
  assert.equal(planned.running, false);
  assert.equal(planned.state, "PENDING");
});

Deno.test("planVm create: machine is derived from the arch when unset", () => {
  for (const [arch, machine] of [["aarch64", "virt"], ["x86_64", "q35"]]) {
    const cfg = config({ arch });
    assert.equal(planVm(null, cfg, cfg).planned.machine, machine, arch);
  }
  const cfg = config({ arch: "aarch64", machine: "raspi3b" });
  assert.equal(planVm(null, cfg, cfg).planned.machine, "raspi3b");
});

Deno.test("planVm create: configured values are kept over defaults", () => {
  const cfg = config({
    arch: OTHER_ARCH,
    cpu_cores: 4,
    memory_mb: 2048,
    labels: { env: "test" },
    cmdline: "console=ttyS0",
  });
  const { planned } = planVm(null, cfg, cfg);
  assert.equal(planned.arch, OTHER_ARCH);
  assert.equal(planned.cpu_cores, 4);
  assert.equal(planned.memory_mb, 2048);
  assert.deepEqual(planned.labels, { env: "test" });
  assert.equal(planned.cmdline, "console=ttyS0");
});

Deno.test("planVm create: port_forward protocol defaults to tcp, host_port unknown when null", () => {
  const cfg = config({
    port_forward: [pf(22), pf(53, { protocol: "udp" }), pf(80, { host_port: 8080 })],
  });
  const { planned } = planVm(null, cfg, cfg);
  assert.deepEqual(planned.port_forward, [
    { guest_port: 22, host_port: UNKNOWN, protocol: "tcp" },
    { guest_port: 53, host_port: UNKNOWN, protocol: "udp" },
    { guest_port: 80, host_port: 8080, protocol: "tcp" },
  ]);
});

Deno.test("planVm create: disk read_only defaults to false", () => {
  const cfg = config({ disk: [disk(FILE), disk(FILE, { read_only: true, format: "raw" })] });
  const { planned } = planVm(null, cfg, cfg);
  assert.deepEqual(planned.disk, [
    { path: FILE, format: null, read_only: false },
    { path: FILE, format: "raw", read_only: true },
  ]);
});

Deno.test("planVm create: unknown configured values stay unknown", () => {
  const cfg = config({ cpu_cores: UNKNOWN, labels: UNKNOWN, name: UNKNOWN });
  const { planned } = planVm(null, cfg, cfg);
  assert.equal(planned.cpu_cores, UNKNOWN);
  assert.equal(planned.labels, UNKNOWN);
  assert.equal(planned.name, UNKNOWN);
  assert.equal(planned.memory_mb, 512);
});

Deno.test("planVm: the proposed object is not modified", () => {
  const cfg = config({ port_forward: [pf(22)] });
  const proposed = structuredClone(cfg);
  planVm(null, proposed, cfg);
  assert.deepEqual(proposed, cfg);
});

// ---- planVm: update ----

Deno.test("planVm update: a no-op plan equals the prior exactly", () => {
  const cfg = config({
    labels: { env: "test" },
    port_forward: [pf(22), pf(80, { host_port: 8080 })],
    disk: [disk(FILE)],
  });
  const prior = created(cfg, [40000, 8080]);
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.deepEqual(planned, prior);
  // Also when Terraform proposes the prior object itself.
  const again = planVm(prior, structuredClone(prior), cfg);
  assert.deepEqual(again.replace, []);
  assert.deepEqual(again.planned, prior);
});

Deno.test("planVm update: a stopped VM's no-op plan keeps its state", () => {
  const cfg = config({ running: false });
  for (const state of ["PENDING", "STOPPED"]) {
    const prior = { ...created(cfg), state };
    const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
    assert.deepEqual(replace, []);
    assert.deepEqual(planned, prior, state);
  }
});

Deno.test("planVm update: an in-place change to a stopped VM keeps its state", () => {
  for (const state of ["PENDING", "STOPPED", "CRASHED"]) {
    const prior = { ...created(config({ running: false })), state };
    const cfg = config({ running: false, memory_mb: 1024 });
    const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
    assert.deepEqual(replace, []);
    assert.equal(planned.memory_mb, 1024);
    assert.equal(planned.state, state);
  }
});

Deno.test("planVm update: a no-op plan keeps a prior state it does not target", () => {
  // E.g. running = false configured and the VM crashed: nothing to do.
  const cfg = config({ running: false });
  const prior = { ...created(cfg), state: "CRASHED" };
  const { planned } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(planned, prior);
});

Deno.test("planVm update: a stopped VM's state is kept with keys sorted as Terraform sends them", () => {
  const cfg = config({ running: false });
  const prior = wire({ ...created(cfg), state: "CRASHED" });
  const { planned } = planVm(prior, wire(proposedFor(prior, cfg)), wire(cfg));
  assert.equal(planned.state, "CRASHED");
});

Deno.test("planVm update: no-op plans of values as Terraform sends them (sorted, msgpack)", () => {
  const cfg = config({ labels: { b: "2", a: "1" }, port_forward: [pf(22)] });
  const prior = wire(created(cfg));
  const { planned, replace } = planVm(prior, wire(proposedFor(prior, cfg)), wire(cfg));
  assert.deepEqual(replace, []);
  assert.deepEqual(sortedKeys(planned), sortedKeys(prior));
});

for (
  const [attr, value] of [
    ["memory_mb", 1024],
    ["cpu_cores", 2],
    ["labels", { env: "prod" }],
  ] as Array<[string, CtyValue]>
) {
  Deno.test(`planVm update: changing ${attr} is in place and keeps computed values`, () => {
    const prior = created(config());
    const cfg = config({ [attr]: value });
    const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
    assert.deepEqual(replace, []);
    assert.deepEqual(planned[attr], value);
    for (const a of COMPUTED_ONLY) assert.equal(planned[a], prior[a], a);
    assert.equal(planned.state, "RUNNING");
    assert.deepEqual({ ...planned, [attr]: prior[attr] }, prior, "nothing else changes");
  });
}

Deno.test("planVm update: removing labels plans null labels in place", () => {
  const prior = created(config({ labels: { env: "test" } }));
  const cfg = config();
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.equal(planned.labels, null);
  assert.equal(planned.id, prior.id);
});

Deno.test("planVm update: running true -> false plans state STOPPED in place", () => {
  const prior = created(config());
  const cfg = config({ running: false });
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.equal(planned.running, false);
  assert.equal(planned.state, "STOPPED");
  for (const a of COMPUTED_ONLY) assert.equal(planned[a], prior[a], a);
});

Deno.test("planVm update: running false -> true plans state RUNNING", () => {
  const prior = created(config({ running: false }));
  const cfg = config({ running: true });
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.equal(planned.running, true);
  assert.equal(planned.state, "RUNNING");
});

Deno.test("planVm update: starting a stopped VM plans its accelerator and allocated ports unknown", () => {
  const prior = created(config({ running: false, port_forward: [pf(22), pf(80)] }), [
    40022,
    40080,
  ]);
  prior.accelerator = null; // never started
  const cfg = config({ running: true, port_forward: [pf(22), pf(80, { host_port: 40080 })] });
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.equal(planned.accelerator, UNKNOWN, "the start picks it");
  const ports = planned.port_forward as Obj[];
  assert.equal(ports[0].host_port, UNKNOWN, "an allocated port may be replaced at start");
  assert.equal(ports[1].host_port, 40080, "a configured port is kept");
});

Deno.test("planVm update: removing `running = false` from the configuration plans running", () => {
  const prior = created(config({ running: false }));
  const cfg = config(); // running null
  const proposed = proposedFor(prior, cfg);
  assert.equal(proposed.running, false, "Terraform proposes the prior value");
  const { planned, replace } = planVm(prior, proposed, cfg);
  assert.deepEqual(replace, []);
  assert.equal(planned.running, true);
  assert.equal(planned.state, "RUNNING");
});

Deno.test("planVm update: removing cpu_cores/memory_mb from the configuration plans defaults", () => {
  const prior = created(config({ cpu_cores: 4, memory_mb: 4096 }));
  const cfg = config();
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.equal(planned.cpu_cores, 1);
  assert.equal(planned.memory_mb, 512);
});

Deno.test("planVm update: a changed timeouts block is not a change to the VM", () => {
  const prior = created(config());
  const cfg = config({ timeouts: { create: "20m", update: null, delete: null } });
  const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, []);
  assert.deepEqual(planned.timeouts, cfg.timeouts);
  assert.equal(planned.state, prior.state);
});

for (
  const [attr, before, after] of [
    ["name", {}, { name: "web2" }],
    ["arch", { arch: HOST_ARCH }, { arch: OTHER_ARCH }],
    ["machine", { machine: "q35" }, { machine: "pc" }],
    ["kernel", {}, { kernel: "/etc/hosts" }],
    ["initrd", {}, { initrd: FILE }],
    ["cmdline", { cmdline: "quiet" }, { cmdline: "console=ttyS0" }],
    ["port_forward", { port_forward: [pf(22)] }, { port_forward: [pf(2222)] }],
    ["port_forward", { port_forward: [pf(22)] }, { port_forward: [pf(22), pf(80)] }],
    ["port_forward", { port_forward: [pf(22)] }, { port_forward: [] }],
    ["port_forward", { port_forward: [pf(22)] }, { port_forward: [pf(22, { protocol: "udp" })] }],
    ["disk", {}, { disk: [disk(FILE)] }],
    ["disk", { disk: [disk(FILE)] }, { disk: [disk(FILE, { read_only: true })] }],
  ] as Array<[string, Obj, Obj]>
) {
  Deno.test(`planVm update: changing ${attr} (${JSON.stringify(after)}) requires replace`, () => {
    const prior = created(config(before));
    const cfg = config({ ...before, ...after });
    const { planned, replace } = planVm(prior, proposedFor(prior, cfg), cfg);
    assert.deepEqual(replace, [[attr]]);
    for (const a of [...COMPUTED_ONLY, "state"]) assert.equal(planned[a], UNKNOWN, a);
  });
}

Deno.test("planVm update: several immutable changes list every path", () => {
  const prior = created(config());
  const cfg = config({ name: "other", kernel: "/etc/hosts", disk: [disk(FILE)] });
  const { replace } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(replace, [["name"], ["kernel"], ["disk"]]);
});

Deno.test("planVm update: host_port of an existing forward is kept from the prior", () => {
  const prior = created(config({ port_forward: [pf(22), pf(53, { protocol: "udp" })] }), [
    40022,
    40053,
  ]);
  // Even if the proposal carries null (the configuration leaves host_port unset).
  const cfg = config({ port_forward: [pf(22), pf(53, { protocol: "udp" })] });
  const proposed: Obj = { ...proposedFor(prior, cfg), port_forward: cfg.port_forward };
  const { planned, replace } = planVm(prior, proposed, cfg);
  assert.deepEqual(replace, []);
  assert.deepEqual(planned.port_forward, [
    { guest_port: 22, host_port: 40022, protocol: "tcp" },
    { guest_port: 53, host_port: 40053, protocol: "udp" },
  ]);
});

Deno.test("planVm update: a new forward gets an unknown host_port, existing ones keep theirs", () => {
  const prior = created(config({ port_forward: [pf(22)] }), [40022]);
  const cfg = config({ port_forward: [pf(22), pf(80)] });
  const proposed: Obj = { ...proposedFor(prior, cfg), port_forward: cfg.port_forward };
  const { planned, replace } = planVm(prior, proposed, cfg);
  assert.deepEqual(replace, [["port_forward"]]);
  assert.deepEqual(planned.port_forward, [
    { guest_port: 22, host_port: 40022, protocol: "tcp" },
    { guest_port: 80, host_port: UNKNOWN, protocol: "tcp" },
  ]);
});

Deno.test("planVm update: a stopped VM with cloud_init plans empty (no host key until it starts)", () => {
  const ci = {
    user_data: null,
    meta_data: null,
    network_config: null,
    hostname: null,
    ssh_authorized_keys: null,
    user: null,
  };
  const cfg = config({ running: false, cloud_init: [ci] });
  const prior = created(cfg);
  assert.equal(prior.ssh_host_key, null);
  const { planned } = planVm(prior, proposedFor(prior, cfg), cfg);
  assert.deepEqual(planned, prior);
  // Started, it gets one: known after apply.
  const on = config({ running: true, cloud_init: [ci] });
  assert.equal(planVm(prior, proposedFor(prior, on), on).planned.ssh_host_key, UNKNOWN);
});

Deno.test("planVm update: display vnc restarts to a new socket; a kept screen keeps its socket", () => {
  const plain = config();
  const prior = created(plain);
  assert.equal(prior.display, "none");
  const vnc = config({ display: "vnc" });
  let { planned } = planVm(prior, proposedFor(prior, vnc), vnc);
  assert.equal(planned.display, "vnc");
  assert.equal(planned.vnc_socket, UNKNOWN, "made by the restart");
  const withScreen = { ...created(vnc), vnc_socket: "/d/vms/x/vnc.sock" };
  ({ planned } = planVm(withScreen, proposedFor(withScreen, vnc), vnc));
  assert.equal(planned.vnc_socket, "/d/vms/x/vnc.sock");
  const stopped = config({ display: "vnc", running: false });
  ({ planned } = planVm(withScreen, proposedFor(withScreen, stopped), stopped));
  assert.equal(planned.vnc_socket, null, "no socket while stopped");
});
