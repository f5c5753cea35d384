// The pure parts of private networks: IPv4 arithmetic and allocation, the shared
// validation of networks, link impairment and interfaces, the CLI's units, what QEMU
// and the guest are given, and the QEMU netdev check.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { ApiError } from "../../src/api/errors.ts";
import {
  checkEffectiveQos,
  effectiveQos,
  normalizeInterfaces,
  normalizeLinkQos,
  normalizeNetworkSpec,
} from "../../src/api/validate/network.ts";
import {
  allocateIp,
  formatIp,
  hostProblem,
  netmask,
  parseCidr,
  parseIp,
} from "../../src/api/ipv4.ts";
import { assertQemuHasStream } from "../../src/network/tools.ts";
import { NO_QOS } from "../../src/api/qos.ts";
import { fromQos } from "../../src/network/impair/config.ts";
import { buildQemuArgs, nicCmdline, type PrivateNic } from "../../src/qemu/args.ts";
import { networkConfig } from "../../src/cloudinit/seed.ts";
import {
  formatQos,
  parseDurationMs,
  parsePercent,
  parseRateKbps,
  qosFromFlags,
} from "../../src/cli/qos_flags.ts";
import { UsageError } from "../../src/cli/flags.ts";

const throwsField = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof ApiError && re.test(e.message));

Deno.test("ipv4: parsing, cidrs, host addresses and netmasks", () => {
  assert.equal(parseIp("10.20.0.1"), 0x0a140001);
  for (const bad of ["10.20.0", "10.20.0.256", "010.1.1.1", " 10.1.1.1", "a.b.c.d"]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  assert.equal(formatIp(0x0a140001), "10.20.0.1");
  assert.deepEqual(parseCidr("10.20.0.0/24"), { base: 0x0a140000, prefix: 24 });
  assert.deepEqual(parseCidr("10.20.0.7/24"), { hostBits: "10.20.0.0/24" });
  assert.equal(parseCidr("10.20.0.0/33"), "syntax");
  const c = parseCidr("10.20.0.0/24") as { base: number; prefix: number };
  assert.equal(hostProblem(c, parseIp("10.20.0.0")!), "is the network address");
  assert.equal(hostProblem(c, parseIp("10.20.0.255")!), "is the broadcast address");
  assert.equal(hostProblem(c, parseIp("10.20.1.1")!), "is outside 10.20.0.0/24");
  assert.equal(hostProblem(c, parseIp("10.20.0.1")!), undefined);
  assert.equal(netmask(24), "255.255.255.0");
  assert.equal(netmask(29), "255.255.255.248");
});

Deno.test("ipv4: allocation starts at .10 on larger networks, wraps, and fills up", () => {
  const c = parseCidr("10.20.0.0/24") as { base: number; prefix: number };
  assert.equal(formatIp(allocateIp(c, new Set())!), "10.20.0.10");
  const taken = new Set([c.base + 10, c.base + 11]);
  assert.equal(formatIp(allocateIp(c, taken)!), "10.20.0.12");
  const small = parseCidr("10.9.0.0/29") as { base: number; prefix: number };
  const got: number[] = [];
  for (let i = 0; i < 6; i++) got.push(allocateIp(small, new Set(got))!);
  assert.deepEqual(got.map(formatIp), [1, 2, 3, 4, 5, 6].map((n) => `10.9.0.${n}`));
  assert.equal(allocateIp(small, new Set(got)), undefined, "network and broadcast never given");
  const all = new Set<number>();
  for (let i = 0; i < 254; i++) all.add(allocateIp(c, all)!);
  assert.equal(all.size, 254);
  assert.ok(![...all].includes(c.base) && ![...all].includes(c.base + 255));
});

Deno.test("validate: networks, link impairment and interfaces name the field", () => {
  assert.deepEqual(normalizeNetworkSpec({ cidr: " 10.20.0.0/24 ", mtu: 0, link_qos: null }), {
    cidr: "10.20.0.0/24",
    mtu: 1500,
    link_qos: {},
  });
  throwsField(() => normalizeNetworkSpec({ cidr: "", mtu: 0 }), /^spec\.cidr: is required/);
  throwsField(() => normalizeNetworkSpec({ cidr: "10.0.0.0/15", mtu: 0 }), /^spec\.cidr: prefix/);
  throwsField(() => normalizeNetworkSpec({ cidr: "10.0.0.0/24", mtu: 9001 }), /^spec\.mtu:/);
  assert.equal(normalizeNetworkSpec({ cidr: "10.0.0.0/24", mtu: 0, seed: 0 }).seed, 0);
  assert.equal(normalizeNetworkSpec({ cidr: "10.0.0.0/24", mtu: 0, seed: null }).seed, undefined);
  for (const seed of [-1, 2 ** 32, 1.5]) {
    throwsField(
      () => normalizeNetworkSpec({ cidr: "10.0.0.0/24", mtu: 0, seed }),
      /^spec\.seed: must be a whole number from 0 to 4294967295/,
    );
  }
  // Only what is set is kept: the rest inherits.
  assert.deepEqual(normalizeLinkQos({ latency_ms: 0, loss_percent: 1.5 }, "q"), {
    latency_ms: 0,
    loss_percent: 1.5,
  });
  throwsField(() => normalizeLinkQos({ jitter_ms: 1.5 }, "q"), /^q\.jitter_ms: must be a whole/);
  throwsField(() => normalizeLinkQos({ duplicate_percent: 60 }, "q"), /^q\.duplicate_percent:/);
  throwsField(() => normalizeLinkQos({ rate_kbps: -1 }, "q"), /^q\.rate_kbps:/);
  assert.deepEqual(effectiveQos({ latency_ms: 40, loss_percent: 1 }, { latency_ms: 0 }), {
    ...NO_QOS,
    latency_ms: 0,
    loss_percent: 1,
  });
  assert.equal(NO_QOS.delay_distribution, "uniform", "netem's default spread");
  assert.equal(NO_QOS.gemodel_1h_percent, 100, "tc's default: the bad state loses all");
  // netem's own rules, each on the field that breaks them, all at once.
  assert.throws(
    () =>
      normalizeLinkQos({
        delay_distribution: "gauss",
        gemodel_r_percent: 25,
        loss_percent: 1,
        reorder_percent: 10,
        latency_ms: 0,
        queue_limit: -1,
        rate_overhead_bytes: 2.5,
      }, "q"),
    (e: unknown) => {
      const fields = (e as ApiError).violations.map((v) => v.field).sort();
      assert.deepEqual(fields, [
        "q.delay_distribution",
        "q.gemodel_p_percent",
        "q.loss_percent",
        "q.queue_limit",
        "q.rate_overhead_bytes",
        "q.reorder_percent",
      ]);
      return true;
    },
  );
  // A network's own reorder needs its own delay; an interface's may inherit one.
  throwsField(
    () => normalizeNetworkSpec({ cidr: "10.20.0.0/24", mtu: 0, link_qos: { reorder_percent: 5 } }),
    /^spec\.link_qos\.reorder_percent: needs a delay/,
  );
  assert.deepEqual(normalizeLinkQos({ reorder_percent: 5 }, "q"), { reorder_percent: 5 });
  throwsField(
    () => checkEffectiveQos(effectiveQos({}, { reorder_percent: 5 }), "q"),
    /^q\.reorder_percent: needs a delay/,
  );
  // Gilbert-Elliott on the interface replaces the network's loss, and back.
  const ge = effectiveQos({ loss_percent: 3 }, { gemodel_p_percent: 1, gemodel_r_percent: 25 });
  assert.equal(ge.loss_percent, 0);
  assert.equal(ge.gemodel_r_percent, 25);
  const back = effectiveQos({ gemodel_p_percent: 1, gemodel_r_percent: 25 }, { loss_percent: 2 });
  assert.deepEqual([back.loss_percent, back.gemodel_p_percent], [2, 0]);
  const n = normalizeInterfaces([{ network: "wan", ip: "", mac: "52:54:00:AA:BB:CC" }]);
  assert.deepEqual(n, [{
    network: "wan",
    ip: "",
    mac: "52:54:00:aa:bb:cc",
    link_qos: {},
    link_state: "",
    receive_link_qos: {},
  }]);
  throwsField(
    () => normalizeInterfaces([{ network: "a", ip: "", mac: "", link_state: "sideways" }]),
    /\[0\]\.link_state: must be up or down/,
  );
  // What a VM receives has its own values: a reorder there needs its own delay.
  throwsField(
    () =>
      normalizeInterfaces([{
        network: "a",
        ip: "",
        mac: "",
        receive_link_qos: { reorder_percent: 5, loss_percent: 101 },
      }]),
    /\[0\]\.receive_link_qos\.loss_percent: must be between 0 and 100.*\[0\]\.receive_link_qos\.reorder_percent: needs a delay/s,
  );
  const f = "spec.network_interfaces";
  throwsField(() => normalizeInterfaces([{ network: "", ip: "", mac: "" }]), /\[0\]\.network:/);
  throwsField(
    () => normalizeInterfaces([{ network: "a", ip: "1.2.3", mac: "" }]),
    new RegExp(`^${f.replaceAll(".", "\\.")}\\[0\\]\\.ip: "1\\.2\\.3" is not an IPv4 address`),
  );
  throwsField(
    () => normalizeInterfaces([{ network: "a", ip: "", mac: "03:00:00:00:00:01" }]),
    /multicast/,
  );
  throwsField(
    () =>
      normalizeInterfaces([
        { network: "a", ip: "", mac: "52:54:00:00:00:01" },
        { network: "b", ip: "", mac: "52:54:00:00:00:01" },
      ]),
    /\[1\]\.mac: 52:54:00:00:00:01 is used twice/,
  );
  throwsField(
    () => normalizeInterfaces(Array.from({ length: 9 }, () => ({ network: "a", ip: "", mac: "" }))),
    /at most 8 interfaces/,
  );
});

Deno.test("cli: delays, percentages and rates in tc and containerlab units", () => {
  assert.equal(parseDurationMs("--latency", "40ms"), 40);
  assert.equal(parseDurationMs("--latency", "1.5s"), 1500);
  assert.equal(parseDurationMs("--latency", "40"), 40);
  assert.equal(parseDurationMs("--latency", "2000us"), 2);
  assert.throws(() => parseDurationMs("--latency", "1.5ms"), UsageError);
  assert.throws(() => parseDurationMs("--latency", "-5ms"), /--latency: "-5ms" is not a duration/);
  assert.equal(parsePercent("--loss", "1%"), 1);
  assert.equal(parsePercent("--loss", "0.5"), 0.5);
  assert.equal(parseRateKbps("--rate", "10mbit"), 10_000);
  assert.equal(parseRateKbps("--rate", "1gbit"), 1_000_000);
  assert.equal(parseRateKbps("--rate", "1000"), 1000, "a bare number is kbit/s");
  assert.equal(parseRateKbps("--rate", "125kbps"), 1000, "kbps is kilobytes, as in tc");
  assert.equal(parseRateKbps("--rate", "0"), 0);
  assert.throws(() => parseRateKbps("--rate", "100bit"), /lowest rate is 1kbit/);
  assert.throws(() => parseRateKbps("--rate", "fast"), /--rate: "fast" is not a rate/);
  assert.throws(() => qosFromFlags({ loss: "150%" }), /--loss: must be between 0 and 100/);
  assert.deepEqual(qosFromFlags({ latency: "40ms", rate: "10mbit" }), {
    latency_ms: 40,
    rate_kbps: 10_000,
  });
  assert.equal(
    formatQos({ latency_ms: 40, jitter_ms: 5, rate_kbps: 10_000 }),
    "latency 40ms, jitter 5ms, rate 10mbit",
  );
  assert.equal(formatQos({ rate_kbps: 1_000_000 }), "rate 1gbit");
  assert.equal(formatQos({ latency_ms: 0 }), "-");
  // netem's other options, in tc's words, each as its own flag.
  assert.deepEqual(
    qosFromFlags({
      latency: "20ms",
      jitter: "10ms",
      distribution: "Normal",
      delayCorrelation: "25%",
      reorder: "10%",
      reorderGap: "5",
      corrupt: "0.1%",
      rateOverhead: "-4",
      limit: "50",
      gemodelP: "1%",
      gemodelR: "25%",
      gemodel1h: "80%",
    }),
    {
      latency_ms: 20,
      jitter_ms: 10,
      delay_distribution: "normal",
      delay_correlation_percent: 25,
      reorder_percent: 10,
      reorder_gap: 5,
      corrupt_percent: 0.1,
      rate_overhead_bytes: -4,
      queue_limit: 50,
      gemodel_p_percent: 1,
      gemodel_r_percent: 25,
      gemodel_1h_percent: 80,
    },
  );
  assert.throws(
    () => qosFromFlags({ distribution: "gauss", limit: "many", gemodelR: "5%" }),
    (e: unknown) =>
      e instanceof UsageError &&
      /--distribution: must be one of uniform, normal, pareto, paretonormal/.test(e.message) &&
      /--limit: "many" is not a whole number/.test(e.message) &&
      /--gemodel-p: is required/.test(e.message),
  );
  assert.equal(
    formatQos({ latency_ms: 20, jitter_ms: 10, delay_distribution: "normal", reorder_percent: 5 }),
    "latency 20ms, jitter 10ms normal, reorder 5%",
  );
  assert.equal(
    formatQos({ gemodel_p_percent: 1, gemodel_r_percent: 25, corrupt_percent: 0.1 }),
    "loss gemodel 1% 25%, corrupt 0.1%",
  );
});

Deno.test("engine values: API fields in the engine's units, with netem's defaults", () => {
  const i = fromQos(effectiveQos({
    latency_ms: 20,
    jitter_ms: 5,
    delay_distribution: "pareto",
    gemodel_p_percent: 2,
    gemodel_r_percent: 50,
  }, { rate_kbps: 1000, reorder_percent: 10 }));
  assert.deepEqual(
    [i.delayUs, i.jitterUs, i.distribution, i.loss, i.rateBps, i.reorder, i.reorderGap, i.limit],
    [20_000, 5000, "pareto", 0, 1e6, 0.1, 1, 1000],
  );
  assert.deepEqual(i.gilbertElliott, { p: 0.02, r: 0.5, lossBad: 1, lossGood: 0 });
  assert.equal(fromQos(NO_QOS).gilbertElliott, undefined);
});

const NICS: PrivateNic[] = [
  { sock: "/d/vms/x/nic0/port", mac: "52:54:00:00:00:0a", ip: "10.20.0.10", prefix: 24, mtu: 1500 },
  { sock: "/d/vms/x/nic1/port", mac: "52:54:00:00:00:0b", ip: "10.2.0.1", prefix: 16, mtu: 9000 },
];

Deno.test("qemu: each private NIC listens on its own stream socket; direct boot learns its address", () => {
  const args = buildQemuArgs({
    id: "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    name: "r",
    spec: {
      arch: "x86_64",
      machine: "q35",
      cpu_cores: 1,
      memory_mb: 256,
      boot: { source: "kernel", kernel: { kernel_path: "/k", initrd_path: "", cmdline: "quiet" } },
      disks: [],
      network: { mode: "user", port_forwards: [] },
      volumes: [],
      network_interfaces: [],
      accelerator: "",
      power_state: "POWER_ON",
    },
    accelerator: "tcg",
    ports: [],
    paths: {
      qmpSocket: "/q",
      serialSocket: "/s",
      serialLog: "/l",
      pidFile: "/p",
      firmwareVars: "/f",
      vncSocket: "/v",
      guestAgentSocket: "/g",
    },
    supervised: false,
    nics: NICS,
  });
  const after = (opt: string) => args.filter((_, i) => args[i - 1] === opt);
  assert.deepEqual(after("-netdev").slice(1), [
    "stream,id=vnet0,server=on,addr.type=unix,addr.path=/d/vms/x/nic0/port",
    "stream,id=vnet1,server=on,addr.type=unix,addr.path=/d/vms/x/nic1/port",
  ]);
  const devices = after("-device").filter((d) => d.includes("vnet"));
  assert.deepEqual(devices, [
    "virtio-net-pci,netdev=vnet0,mac=52:54:00:00:00:0a",
    "virtio-net-pci,netdev=vnet1,mac=52:54:00:00:00:0b,host_mtu=9000",
  ]);
  assert.deepEqual(after("-append"), [
    "quiet infrasim.nic=52:54:00:00:00:0a,10.20.0.10/24,1500 infrasim.nic=52:54:00:00:00:0b,10.2.0.1/16,9000",
  ]);
  assert.equal(nicCmdline([]), "");
});

Deno.test("cloud-init: network-config v2 matches NICs by MAC, the user-mode one on DHCP", () => {
  assert.deepEqual(parseYaml(networkConfig("52:54:00:00:00:01", NICS)), {
    version: 2,
    ethernets: {
      user0: { match: { macaddress: "52:54:00:00:00:01" }, dhcp4: true },
      net0: { match: { macaddress: "52:54:00:00:00:0a" }, addresses: ["10.20.0.10/24"] },
      net1: { match: { macaddress: "52:54:00:00:00:0b" }, addresses: ["10.2.0.1/16"], mtu: 9000 },
    },
  });
});

Deno.test("a QEMU without the stream netdev is refused, saying what to install", async () => {
  const dir = mkdtempSync("/tmp/isu-");
  try {
    const fake = join(dir, "qemu-system-x86_64");
    writeFileSync(fake, "#!/bin/sh\nprintf 'Available netdev backend types:\\nuser\\nsocket\\n'\n");
    chmodSync(fake, 0o755);
    await assert.rejects(
      assertQemuHasStream(fake),
      /has no stream network backend.*QEMU 7.2 or later/s,
    );
    const good = join(dir, "qemu-good");
    writeFileSync(good, "#!/bin/sh\nprintf 'Available netdev backend types:\\nuser\\nstream\\n'\n");
    chmodSync(good, 0o755);
    await assertQemuHasStream(good);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
