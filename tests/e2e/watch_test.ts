// The change feed through the real daemon: list-then-watch, every kind's changes (image
// imports, volume resizes, network QoS, link state) in order, resuming by version after
// a disconnect and across a restart, a version too old, a client too slow, and five
// watchers that each see every event of a hundred VMs.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { ApiError, Status } from "../../src/api/errors.ts";
import { serviceClient } from "../../src/api/proto.ts";
import type { InfrasimClient } from "../../src/api/client.ts";
import { e2eTest, guest, guestSpec, READY, waitFor } from "../helpers/env.ts";
import { enginePids, netVm } from "../helpers/networks.ts";

const G = guest("x86_64");

/** Records every event of one watch. */
class Recorder {
  events: T.WatchEvent[] = [];
  job: { done: Promise<void>; cancel: () => void };
  error?: unknown;
  constructor(client: InfrasimClient, req: Partial<T.WatchRequest> = {}) {
    this.job = client.watch(req, (e) => this.events.push(e));
    this.job.done.catch((e) => (this.error = e));
  }
  until(what: string, pred: (e: T.WatchEvent) => boolean, ms = 60_000): Promise<T.WatchEvent> {
    return waitFor(
      what,
      () => {
        if (this.error) throw this.error;
        return this.events.find(pred);
      },
      ms,
      20,
    );
  }
  async stop(): Promise<void> {
    this.job.cancel();
    await this.job.done;
  }
}

const obj = (e: T.WatchEvent) => e.vm ?? e.image ?? e.volume ?? e.network;
const nameOf = (e: T.WatchEvent) => obj(e)?.meta?.name;

/** After SYNCED, versions only grow, and each object carries its event's version. */
function assertOrdered(events: T.WatchEvent[]) {
  const after = events.slice(events.findIndex((e) => e.type === "SYNCED") + 1);
  for (let i = 1; i < after.length; i++) {
    assert.ok(after[i].resource_version > after[i - 1].resource_version, "versions grow");
  }
  for (const e of after) assert.equal(Number(obj(e)!.meta!.resource_version), e.resource_version);
}

e2eTest(
  "watch: the current objects, SYNCED, then each change of every kind in order",
  async (d) => {
    const c = d.client;
    await c.createNetwork({ meta: { name: "wan" }, spec: { cidr: "10.40.0.0/24" } });
    await c.createVolume({ meta: { name: "data" }, spec: { size_gb: 1 } });
    await c.createVm({ meta: { name: "idle" }, spec: guestSpec(G, { power_state: "POWER_OFF" }) });
    const w = new Recorder(c);
    const synced = await w.until("SYNCED", (e) => e.type === "SYNCED");
    const initial = w.events.slice(0, w.events.indexOf(synced));
    assert.deepEqual(initial.map((e) => [e.type, e.kind, nameOf(e)]), [
      ["ADDED", "VM", "idle"],
      ["ADDED", "VOLUME", "data"],
      ["ADDED", "NETWORK", "wan"],
    ]);

    // A VM on the network: created, started, its link comes up.
    const vm = await c.createVm(netVm("a", [{ network: "wan" }]));
    await d.waitSerial(vm, READY);
    await w.until(
      "a's link up",
      (e) => nameOf(e) === "a" && e.vm?.status?.links[0]?.state === "up",
    );
    await w.until(
      "wan's attachment up",
      (e) => e.network?.status?.attachments[0]?.state === "up",
    );
    const states = w.events.filter((e) => nameOf(e) === "a").map((e) => e.vm!.status!.state);
    assert.equal(states[0], "PENDING");
    assert.ok(states.includes("STARTING") && states.includes("RUNNING"), states.join(","));

    // Network QoS: the network's spec, then the link's effective values on the VM and on
    // the network's attachment.
    await c.updateNetwork({
      ref: "wan",
      spec: { cidr: "10.40.0.0/24", link_qos: { latency_ms: 30 } },
    });
    await w.until("wan's new qos", (e) => e.network?.spec?.link_qos?.latency_ms === 30);
    await w.until("a's link at 30 ms", (e) => e.vm?.status?.links[0]?.link_qos?.latency_ms === 30);

    // Link state: the network's engine killed under the running VM: the link is repaired,
    // and watchers see it go and come back.
    const engine = enginePids(d.dataDir, vm.status!.links[0].network_id);
    assert.equal(engine.length, 1);
    const mark = w.events.length;
    process.kill(engine[0], "SIGKILL");
    const repairing = await w.until(
      "a's link repairing",
      (e) => nameOf(e) === "a" && e.vm?.status?.links[0]?.state === "repairing",
    );
    assert.match(repairing.vm!.status!.links[0].message, /link engine/);
    assert.equal(repairing.vm!.status!.state, "RUNNING", "the VM itself runs on");
    await w.until(
      "a's link up again",
      (e) =>
        w.events.indexOf(e) > mark && nameOf(e) === "a" && e.vm?.status?.links[0]?.state === "up",
    );

    // Volume resize, image import, deletes.
    await c.updateVolume({ ref: "data", spec: { size_gb: 2 } });
    await w.until("data at 2 GiB", (e) => e.volume?.status?.size_bytes === 2 * 1024 ** 3);
    await c.importImage({ meta: { name: "disk" }, spec: { source: G.disk } }).done;
    await w.until("the image", (e) => e.type === "ADDED" && e.image?.meta?.name === "disk");
    await c.deleteVm("idle");
    const gone = await w.until("idle deleted", (e) => e.type === "DELETED" && nameOf(e) === "idle");
    assert.equal(gone.vm!.meta!.name, "idle", "a DELETED event carries the last state");
    await w.stop();
    assertOrdered(w.events);
  },
);

e2eTest("watch: filtered by kind, name and labels; a bad kind names the field", async (d) => {
  const c = d.client;
  const w = new Recorder(c, { kinds: ["vm"], label_selector: "env=dev" });
  await w.until("SYNCED", (e) => e.type === "SYNCED");
  const one = new Recorder(c, { name: "b" });
  await one.until("SYNCED", (e) => e.type === "SYNCED");
  await c.createNetwork({
    meta: { name: "b", labels: { env: "dev" } },
    spec: { cidr: "10.41.0.0/24" },
  });
  await c.createVm({
    meta: { name: "a", labels: { env: "dev" } },
    spec: guestSpec(G, { power_state: "POWER_OFF" }),
  });
  await c.createVm({ meta: { name: "b" }, spec: guestSpec(G, { power_state: "POWER_OFF" }) });
  await w.until("a", (e) => nameOf(e) === "a");
  await one.until("b, the VM", (e) => e.kind === "VM");
  await w.stop();
  await one.stop();
  assert.deepEqual(w.events.filter((e) => e.type !== "SYNCED").map(nameOf), ["a"]);
  const b = one.events.filter((e) => e.type !== "SYNCED");
  assert.ok(b.every((e) => nameOf(e) === "b"), "only the objects named b");
  assert.deepEqual([...new Set(b.map((e) => e.kind))], ["NETWORK", "VM"]);
  const bad = new Recorder(c, { kinds: ["vm", "pods"] });
  await assert.rejects(bad.job.done, (e: ApiError) => {
    assert.equal(e.code, Status.INVALID_ARGUMENT);
    assert.deepEqual(e.violations.map((v) => v.field), ["kinds[1]"]);
    return true;
  });
});

e2eTest(
  "watch: resuming from a version gets every change after it, across a restart",
  async (d) => {
    // A watch that listed at version 0 would list again (0 means: list); start above it.
    await d.client.createVolume({ meta: { name: "v" }, spec: { size_gb: 1 } });
    const first = new Recorder(d.client);
    const synced = await first.until("SYNCED", (e) => e.type === "SYNCED");
    assert.ok(synced.resource_version > 0);
    await first.stop();
    const label = (i: number) =>
      d.client.createNetwork({ meta: { name: `n${i}` }, spec: { cidr: `10.5${i}.0.0/24` } });
    await label(0);
    await label(1);
    await d.stop();
    await d.launch();
    await label(2);
    const resumed = new Recorder(d.client, { resource_version: synced.resource_version });
    await resumed.until("n2", (e) => nameOf(e) === "n2");
    await resumed.stop();
    const added = resumed.events.filter((e) => e.type === "ADDED").map(nameOf);
    assert.deepEqual(added, ["n0", "n1", "n2"], "every change after the version, once, in order");
    assert.ok(resumed.events.every((e) => e.resource_version > synced.resource_version));
    assert.ok(!resumed.events.some((e) => e.type === "SYNCED"), "a resume does not list again");
  },
);

e2eTest(
  "watch: a version no longer kept, or ahead, is OUT_OF_RANGE; the CLI lists again",
  async (d) => {
    await d.stop();
    writeFileSync(join(d.dataDir, "config.toml"), "[events]\nkeep = 100\n");
    await d.launch();
    await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.60.0.0/24" } });
    for (let i = 0; i < 130; i++) {
      await d.client.updateNetwork({ ref: "n", meta: { labels: { i: String(i) } } });
    }
    const old = new Recorder(d.client, { resource_version: 1 });
    await assert.rejects(old.job.done, (e: ApiError) => {
      assert.equal(e.code, Status.OUT_OF_RANGE);
      assert.match(e.message, /resource_version 1 is too old.*watch without resource_version/);
      return true;
    });
    const ahead = new Recorder(d.client, { resource_version: 1_000_000 });
    await assert.rejects(ahead.job.done, /ahead of this daemon's/);
    // The CLI's events --since an old version lists again instead of failing.
    const r = d.cli(["events", "--since", "1", "--count", "1", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split("\n")[0]).type, "ADDED");
  },
);

e2eTest("watch: a client that stops reading is cut off, and resumes without a gap", async (d) => {
  await d.client.createNetwork({ meta: { name: "n" }, spec: { cidr: "10.61.0.0/24" } });
  const Svc = serviceClient("infrasim.v1.WatchService");
  const raw = new Svc(`unix:${d.socket}`, grpc.credentials.createInsecure());
  const seen: number[] = [];
  const call =
    (raw as unknown as Record<string, (r: unknown) => grpc.ClientReadableStream<T.WatchEvent>>)
      .Watch({ kinds: ["network"] });
  call.on("data", (e: T.WatchEvent) => seen.push(e.resource_version));
  const status = new Promise<grpc.StatusObject>((r) => call.on("status", r));
  call.on("error", () => {});
  await waitFor("SYNCED", () => seen.length >= 2);
  call.pause(); // reads nothing more; the daemon must not buffer for it without bound
  const big = "x".repeat(250_000);
  const versions: number[] = [];
  for (let i = 0; i < 200; i++) {
    const n = await d.client.updateNetwork({
      ref: "n",
      meta: { annotations: { big, i: String(i) } },
    });
    versions.push(Number(n.meta!.resource_version));
  }
  call.resume();
  const st = await status;
  assert.equal(st.code, Status.RESOURCE_EXHAUSTED, st.details);
  assert.match(st.details, /left more than .* unread and was cut off/);
  raw.close();
  assert.ok(seen.length < 202, `cut off before the end (${seen.length} events)`);
  // Resuming from the last version seen brings the rest, with no gap.
  const rest = new Recorder(d.client, { kinds: ["network"], resource_version: seen.at(-1)! });
  await rest.until("the last update", (e) => e.resource_version === versions.at(-1));
  await rest.stop();
  const all = [...seen.slice(2), ...rest.events.map((e) => e.resource_version)];
  assert.deepEqual(all.slice(-versions.length), versions);
});

e2eTest(
  "watch: five watchers each see every event of 100 VMs created and deleted, in order",
  async (d) => {
    const watchers = Array.from({ length: 5 }, () => new Recorder(d.client, { kinds: ["vm"] }));
    for (const w of watchers) await w.until("SYNCED", (e) => e.type === "SYNCED");
    const spec = guestSpec(G, {
      power_state: "POWER_OFF",
      network: { mode: "none", port_forwards: [] },
    });
    await Promise.all(Array.from({ length: 4 }, async (_, t) => {
      for (let i = t; i < 100; i += 4) {
        await d.client.createVm({ meta: { name: `vm-${i}` }, spec });
        await d.client.deleteVm(`vm-${i}`);
      }
    }));
    for (const w of watchers) {
      await w.until(
        "the 100th delete",
        () => w.events.filter((e) => e.type === "DELETED").length === 100,
      );
    }
    const seqs = watchers.map((w) =>
      w.events.map((e) => `${e.resource_version}/${e.type}/${nameOf(e)}`)
    );
    for (const s of seqs.slice(1)) {
      assert.deepEqual(
        s,
        seqs[0],
        "every watcher saw the same events",
      );
    }
    assert.equal(watchers[0].events.filter((e) => e.type === "ADDED").length, 100);
    for (const w of watchers) {
      await w.stop();
      assertOrdered(w.events);
    }
  },
);
