// Field violations as data: validation reports every bad field at once, they survive the
// trip through gRPC's status details, the CLI says each as its flag, and the provider puts
// each on its attribute (nested blocks included), read off the schema.
import assert from "node:assert/strict";
import { ApiError, Status } from "../../src/api/errors.ts";
import { decodeViolations, encodeDetails } from "../../src/api/status_details.ts";
import { normalizeVmSpec } from "../../src/api/validate/vm.ts";
import { normalizeNetworkSpec } from "../../src/api/validate/network.ts";
import { vmSpecFromInput } from "../../src/api/specs.ts";
import { flagFor, inFlagTerms } from "../../src/cli/flags.ts";
import { attributePathOf, errorDiags } from "../../src/provider/framework/diagnostics.ts";
import { VM_SCHEMA } from "../../src/provider/resources/vm/schema.ts";
import { NETWORK_SCHEMA } from "../../src/provider/resources/network.ts";
import { qosFromFlags } from "../../src/cli/qos_flags.ts";
import { UsageError } from "../../src/cli/flags.ts";

function violations(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, Status.INVALID_ARGUMENT);
    return e;
  }
  throw new Error("no error");
}

Deno.test("a spec with three bad fields reports all three, each with its path", () => {
  const e = violations(() =>
    normalizeVmSpec({
      arch: "x86_64",
      machine: "",
      cpu_cores: 999,
      memory_mb: 10,
      boot: {},
      disks: [],
      network: {
        mode: "user",
        port_forwards: [{ protocol: "tcp", host_port: 80, guest_port: 22 }],
      },
      accelerator: "",
      power_state: "POWER_ON",
      volumes: [],
      network_interfaces: [],
    })
  );
  assert.deepEqual(e.violations.map((v) => v.field), [
    "spec.cpu_cores",
    "spec.memory_mb",
    "spec.network.port_forwards[0].host_port",
  ]);
  assert.match(e.message, /^3 invalid fields: spec\.cpu_cores: must be between 1 and 256; /);
});

Deno.test("the spec builder reports a violation once, also when the spec's checks find it too", () => {
  const e = violations(() =>
    vmSpecFromInput({ memoryMb: 10, cpuCores: 0, ports: [{ guestPort: 0 }] })
  );
  assert.deepEqual(e.violations.map((v) => v.field), [
    "spec.cpu_cores",
    "spec.memory_mb",
    "spec.network.port_forwards[0].guest_port",
  ]);
});

Deno.test("networks: cidr, mtu and every bad impairment field at once", () => {
  const e = violations(() =>
    normalizeNetworkSpec({
      cidr: "10.0.0.0/8",
      mtu: 99,
      link_qos: { latency_ms: -1, loss_percent: 200 },
    })
  );
  assert.deepEqual(e.violations.map((v) => v.field), [
    "spec.cidr",
    "spec.mtu",
    "spec.link_qos.latency_ms",
    "spec.link_qos.loss_percent",
  ]);
});

Deno.test("violations survive google.rpc.Status / BadRequest encoding", () => {
  const vs = [
    { field: "spec.memory_mb", description: "must be between 64 and 1048576" },
    { field: "meta.name", description: '"Bad" is not a DNS label' },
  ];
  assert.deepEqual(decodeViolations(encodeDetails(3, "2 invalid fields", vs)), vs);
  assert.deepEqual(decodeViolations(new Uint8Array([0xff, 0x01])), [], "garbage is ignored");
});

Deno.test("cli: each violation said as the flag that sets its field", () => {
  const fields = {
    "meta.name": "--name",
    "spec.memory_mb": "--memory",
    "spec.network.port_forwards": "--port",
    "spec.network.port_forwards[].host_port": ["--port", "host port "],
  } as const;
  assert.deepEqual(flagFor("spec.network.port_forwards[3].host_port", fields), [
    "--port",
    "host port ",
  ]);
  assert.deepEqual(flagFor("spec.network.port_forwards[3].protocol", fields), ["--port", ""]);
  assert.equal(flagFor("spec.memory_mbx", fields), undefined, "whole segments only");
  const e = new ApiError(Status.INVALID_ARGUMENT, "x", [
    { field: "spec.memory_mb", description: "must be between 64 and 1048576" },
    {
      field: "spec.network.port_forwards[0].host_port",
      description: "must be between 1024 and 65535",
    },
    { field: "spec.machine", description: "is not a machine type name" },
  ]);
  assert.deepEqual(inFlagTerms(e, fields), [
    "--memory: must be between 64 and 1048576",
    "--port: host port must be between 1024 and 65535",
    "spec.machine: is not a machine type name",
  ]);
});

Deno.test("cli: impairment flags that do not parse and out of range, all named", () => {
  assert.throws(() => qosFromFlags({ latency: "fast", loss: "150%", rate: "10mbit" }), (e) => {
    assert.ok(e instanceof UsageError);
    assert.deepEqual(e.apiError?.violations.map((v) => v.field), ["--latency", "--loss"]);
    return true;
  });
});

Deno.test("provider: a field lands on its attribute, in nested and single blocks too", () => {
  assert.deepEqual(attributePathOf(VM_SCHEMA, "spec.memory_mb"), ["memory_mb"]);
  assert.deepEqual(attributePathOf(VM_SCHEMA, 'meta.labels["a b"]'), ["labels"]);
  assert.deepEqual(attributePathOf(VM_SCHEMA, "spec.boot"), ["kernel"], "a parent: its first");
  assert.deepEqual(attributePathOf(VM_SCHEMA, "spec.disks[1].format"), ["disk", 1, "format"]);
  assert.deepEqual(
    attributePathOf(VM_SCHEMA, "spec.network.port_forwards[2].host_port"),
    ["port_forward", 2, "host_port"],
  );
  assert.deepEqual(attributePathOf(VM_SCHEMA, "spec.volumes[0].volume"), [
    "volume",
    0,
    "volume_id",
  ]);
  assert.deepEqual(attributePathOf(VM_SCHEMA, "spec.cloud_init.hostname"), [
    "cloud_init",
    0,
    "hostname",
  ]);
  assert.deepEqual(
    attributePathOf(VM_SCHEMA, "spec.network_interfaces[1].link_qos.jitter_ms"),
    ["network_interface", 1, "link_qos", 0, "jitter_ms"],
  );
  assert.deepEqual(attributePathOf(VM_SCHEMA, "spec.network_interfaces[0].network"), [
    "network_interface",
    0,
    "network_id",
  ]);
  assert.deepEqual(attributePathOf(NETWORK_SCHEMA, "spec.link_qos.rate_kbps"), [
    "link_qos",
    0,
    "rate_kbps",
  ]);
});

Deno.test("provider: one diagnostic per violation, each on its attribute path", () => {
  const e = new ApiError(Status.INVALID_ARGUMENT, "3 invalid fields", [
    { field: "meta.name", description: "is not a DNS label" },
    { field: "spec.memory_mb", description: "must be between 64 and 1048576" },
    { field: "spec.network_interfaces[0].link_qos.latency_ms", description: "must be ..." },
  ]);
  const ds = errorDiags(e, "Cannot create VM", VM_SCHEMA);
  assert.deepEqual(ds.map((d) => d.summary), [
    "Invalid name",
    "Invalid memory_mb",
    "Invalid network_interface.0.link_qos.0.latency_ms",
  ]);
  assert.deepEqual(ds[2].attribute?.steps, [
    { attribute_name: "network_interface" },
    { element_key_int: 0 },
    { attribute_name: "link_qos" },
    { element_key_int: 0 },
    { attribute_name: "latency_ms" },
  ]);
  const unplaced = errorDiags(
    new ApiError(Status.INVALID_ARGUMENT, "x: y", [{ field: "x", description: "y" }]),
    "Cannot create VM",
    VM_SCHEMA,
  );
  assert.equal(unplaced.length, 1);
  assert.equal(unplaced[0].summary, "Cannot create VM");
});
