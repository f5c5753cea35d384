// /metrics with four running guests: the token is required (the metrics token or the
// daemon's), only loopback host names are answered, the text passes `promtool check
// metrics` (Debian's prometheus package), QEMU's CPU seconds grow between two scrapes,
// and the link, disk, boot and API figures are there.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { e2eTest, freePort, READY, sleep, waitFor } from "../helpers/env.ts";
import { guestSh } from "../helpers/guest_shell.ts";
import { bootAll, netVm } from "../helpers/networks.ts";

/** The value of one sample, by its name and labels as written, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

e2eTest("metrics: a scrape of 4 running VMs parses, passes promtool, and CPU grows", async (d) => {
  const url = `http://127.0.0.1:${d.httpPort}/metrics`;
  const token = readFileSync(join(d.dataDir, "metrics-token"), "utf8").trim();
  const scrape = async (headers: Record<string, string> = { Authorization: `Bearer ${token}` }) => {
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
    return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
  };
  assert.equal((await scrape({})).status, 401);
  assert.equal((await scrape({ Authorization: "Bearer nope" })).status, 401);
  // The API token opens the API, not this: it never goes into a scrape config.
  assert.equal((await scrape({ Authorization: `Bearer ${d.token}` })).status, 401);
  assert.equal((await scrape()).status, 200);
  // The rest of the port is the dashboard's, behind its own sign-in.
  const other = await fetch(url.replace("/metrics", "/x"), {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(other.status, 401);
  // A rebinding page would send its own host name.
  const rebound = spawnSync("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-H",
    "Host: evil.example:80",
    "-H",
    `Authorization: Bearer ${token}`,
    url,
  ], { encoding: "utf8" });
  assert.equal(rebound.stdout, "421");

  await d.client.createNetwork({ meta: { name: "m" }, spec: { cidr: "10.41.0.0/24" } });
  // c has a disk: the guest kernel reads its partition table at boot.
  await d.client.createVolume({ meta: { name: "v" }, spec: { image: "", size_gb: 1 } });
  const ready = { wait_for: { serial: READY, guest_port: 0 } };
  const reqs = [
    netVm("a", [{ network: "m" }]),
    netVm("b", [{ network: "m" }]),
    netVm("c", []),
    netVm("d", []),
  ].map((r) => ({
    ...r,
    spec: {
      ...r.spec,
      ...ready,
      volumes: r.meta.name === "c" ? [{ volume: "v", read_only: false }] : [],
    },
  }));
  const [a, b] = await bootAll(d, reqs);
  await guestSh(d.client, a, `ping -c 5 -i 0.2 -W 2 ${b.status!.links[0].ip}`);
  await waitFor(
    "every VM ready",
    async () =>
      (await Promise.all(["a", "b", "c", "d"].map((n) => d.client.getVm(n)))).every((v) =>
        v.status!.ready
      ),
  );

  const first = await scrape();
  assert.equal(first.status, 200);
  assert.match(first.type, /^text\/plain; version=0\.0\.4/);
  const check = spawnSync("promtool", ["check", "metrics"], {
    input: first.text,
    encoding: "utf8",
  });
  if (check.error) {
    throw new Error(`promtool: ${check.error.message} (tasks/setup.sh installs prometheus)`);
  }
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);

  assert.equal(sample(first.text, 'infrasim_vms{state="RUNNING"}'), 4);
  assert.equal(sample(first.text, 'infrasim_vms{state="CRASHED"}'), 0);
  const cpu = (text: string, vm: { meta?: { name: string; id: string } | null }) =>
    sample(text, `infrasim_vm_cpu_seconds_total{vm="${vm.meta!.name}",vm_id="${vm.meta!.id}"}`);
  const vms = await Promise.all(["a", "b", "c", "d"].map((n) => d.client.getVm(n)));
  for (const vm of vms) {
    assert.ok(cpu(first.text, vm)! > 0, `${vm.meta!.name}'s CPU seconds`);
    const rss = sample(
      first.text,
      `infrasim_vm_resident_memory_bytes{vm="${vm.meta!.name}",vm_id="${vm.meta!.id}"}`,
    );
    assert.ok(rss! > 20e6, `${vm.meta!.name}'s RSS ${rss}`);
  }
  assert.ok(sample(first.text, "infrasim_vm_boot_seconds_count")! >= 4);
  assert.ok(
    sample(
      first.text,
      'infrasim_api_requests_total{method="infrasim.v1.VmService/CreateVm",code="OK"}',
    )! >= 4,
  );
  assert.ok(
    sample(first.text, 'infrasim_link_frames_total{network="m",link="a:nic0",direction="sent"}')! >=
      5,
  );
  assert.ok(sample(first.text, "infrasimd_cpu_seconds_total")! > 0);
  const c = vms[2];
  const disk = first.text.split("\n").find((l) =>
    l.startsWith(`infrasim_vm_disk_read_bytes_total{vm="c",vm_id="${c.meta!.id}",device=`)
  );
  assert.ok(disk && Number(disk.split(" ")[1]) > 0, `c's disk reads: ${disk}`);

  await sleep(2000);
  const second = await scrape();
  for (const vm of vms) {
    assert.ok(cpu(second.text, vm)! > cpu(first.text, vm)!, `${vm.meta!.name}'s CPU grows`);
  }

  // The Grafana example names only metrics the daemon has.
  const types = new Set([...first.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  const dashboard = readFileSync("examples/prometheus/grafana-dashboard.json", "utf8");
  for (const [name] of dashboard.matchAll(/\binfrasimd?_[a-z_]+/g)) {
    const base = name.replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(base), `the dashboard's ${name} is not in the scrape`);
  }

  // The Prometheus example scrapes this daemon for real (its token file and port swapped in).
  const tmp = mkdtempSync("/tmp/isp-");
  const promPort = await freePort();
  const config = readFileSync("examples/prometheus/prometheus.yml", "utf8")
    .replaceAll("/etc/prometheus/infrasim-metrics-token", join(d.dataDir, "metrics-token"))
    .replace("127.0.0.1:50080", `127.0.0.1:${d.httpPort}`)
    .replace("scrape_interval: 15s", "scrape_interval: 1s");
  writeFileSync(join(tmp, "prometheus.yml"), config);
  const checked = spawnSync("promtool", ["check", "config", join(tmp, "prometheus.yml")], {
    encoding: "utf8",
  });
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  const prom = spawn("prometheus", [
    `--config.file=${join(tmp, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(tmp, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ], { stdio: "ignore" });
  try {
    const query = async (q: string) => {
      const r = await fetch(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`,
        { signal: AbortSignal.timeout(5000) },
      ).catch(() => undefined);
      const body = r?.ok ? await r.json() : undefined;
      return body?.data?.result?.[0]?.value?.[1] as string | undefined;
    };
    await waitFor(
      "Prometheus to scrape infrasimd",
      async () =>
        (await query('up{job="infrasim"}')) === "1" &&
        (await query('infrasim_vms{state="RUNNING"}')) === "4",
      30_000,
      500,
    );
  } finally {
    const exited = new Promise((r) => prom.once("exit", r));
    prom.kill("SIGKILL");
    await exited;
    rmSync(tmp, { recursive: true, force: true });
  }
});
