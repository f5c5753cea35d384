// TCP needs the daemon's bearer token; the unix socket is authorized by its 0600 mode.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { e2eTest, guest, guestSpec, INFRASIM, qemuPidsIn } from "../helpers/env.ts";
import { serviceClient } from "../../src/api/proto.ts";
import { Status } from "../../src/api/errors.ts";

/** A request that would do harm if it were served: read a root-only file into a guest. */
const HOSTILE = {
  ref: "mine",
  meta: { name: "evil" },
  spec: {
    ...guestSpec(guest("x86_64")),
    disks: [{ path: "/etc/shadow", read_only: true }],
  },
  force: true,
  follow: false,
};

/** Calls every method of a service over a raw channel; returns method -> status code. */
async function callAll(
  service: string,
  address: string,
  token: string | undefined,
): Promise<Record<string, number>> {
  const Ctor = serviceClient(service);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  const out: Record<string, number> = {};
  try {
    for (const [name, def] of Object.entries(Ctor.service)) {
      const opts = { deadline: Date.now() + 10_000 };
      out[name] = await new Promise<number>((resolve) => {
        const onStatus = (code: number) => resolve(code);
        if (!def.requestStream && !def.responseStream) {
          client.makeUnaryRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            HOSTILE,
            md,
            opts,
            (err) => onStatus(err ? err.code : Status.OK),
          );
        } else if (!def.requestStream) {
          const call = client.makeServerStreamRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            HOSTILE,
            md,
            opts,
          );
          call.on("data", () => {});
          call.on("error", (e: grpc.ServiceError) => onStatus(e.code));
          call.on("end", () => onStatus(Status.OK));
        } else {
          const call = client.makeBidiStreamRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            md,
            opts,
          );
          call.on("data", () => {});
          call.on("error", (e: grpc.ServiceError) => onStatus(e.code));
          call.on("end", () => onStatus(Status.OK));
          call.write(HOSTILE);
          call.write({ data: new TextEncoder().encode("cat /dev/vdb\n") });
          setTimeout(() => call.end(), 500);
        }
      });
    }
  } finally {
    client.close();
  }
  return out;
}

e2eTest(
  "auth: over TCP, every RPC without a valid token is UNAUTHENTICATED and changes nothing",
  async (d) => {
    const tokenFile = join(d.dataDir, "token");
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.ok(d.token.length >= 32, "a long random token");
    const before = await d.client.createVm({
      meta: { name: "mine" },
      spec: guestSpec(guest("x86_64"), { power_state: "POWER_OFF" }),
    });
    const tcp = `127.0.0.1:${d.tcpPort}`;
    for (const token of [undefined, "", "wrong", d.token.slice(0, -1)]) {
      for (const service of ["infrasim.v1.VmService", "infrasim.v1.DaemonService"]) {
        const codes = await callAll(service, tcp, token);
        assert.ok(Object.keys(codes).length > 0);
        for (const [method, code] of Object.entries(codes)) {
          assert.equal(
            Status[code],
            "UNAUTHENTICATED",
            `${service}/${method} with token ${JSON.stringify(token)}`,
          );
        }
      }
    }
    // Nothing changed: the VM is as it was, no other VM, no QEMU.
    const vms = (await d.client.listVms({ label_selector: "" })).vms;
    assert.deepEqual(vms.map((v) => v.meta!.name), ["mine"]);
    assert.equal(vms[0].meta!.generation, before.meta!.generation);
    assert.equal(vms[0].status!.state, "PENDING");
    assert.deepEqual(qemuPidsIn(d.dataDir), []);

    // Health stays open; the right token is served.
    assert.equal(await d.tcpClient().health(), "SERVING");
    const authed = d.tcpClient(d.token);
    try {
      assert.equal((await authed.getVm("mine")).meta!.id, before.meta!.id);
    } finally {
      authed.close();
    }
    const unauthed = d.tcpClient();
    try {
      await assert.rejects(
        unauthed.listVms({ label_selector: "" }).then((r) => r.vms),
        (e: { code: number; message: string }) => {
          assert.equal(Status[e.code], "UNAUTHENTICATED");
          assert.match(e.message, /token/);
          return true;
        },
      );
    } finally {
      unauthed.close();
    }
  },
);

e2eTest("auth: the CLI finds the token in the data dir, or takes --token / INFRASIM_TOKEN", (d) => {
  const tcp = `127.0.0.1:${d.tcpPort}`;
  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync(INFRASIM, ["--daemon-address", tcp, ...args], {
      encoding: "utf8",
      env: { ...process.env, INFRASIM_DAEMON_ADDRESS: "", INFRASIM_TOKEN: "", ...env },
      timeout: 20_000,
    });
  // Same user, same data dir: the token file is read.
  const own = cli(["vm", "list", "-o", "json"], { INFRASIM_DATA_DIR: d.dataDir });
  assert.equal(own.status, 0, own.stderr);
  assert.deepEqual(JSON.parse(own.stdout), []);
  // A data dir without a token: refused, with a message that says what to do.
  const empty = mkdtempSync("/tmp/isd-notoken-");
  try {
    const none = cli(["vm", "list"], { INFRASIM_DATA_DIR: empty });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /UNAUTHENTICATED/);
    assert.match(none.stderr, /--token|INFRASIM_TOKEN/);
    const flag = cli(["--token", d.token, "vm", "list", "-o", "json"], {
      INFRASIM_DATA_DIR: empty,
    });
    assert.equal(flag.status, 0, flag.stderr);
    const env = cli(["vm", "list", "-o", "json"], {
      INFRASIM_DATA_DIR: empty,
      INFRASIM_TOKEN: d.token,
    });
    assert.equal(env.status, 0, env.stderr);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
