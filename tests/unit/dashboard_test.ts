// The dashboard's pure parts: one-time login codes and sessions, the cookie parser, the
// desktop opener, and the Connect bridge in front of grpc-js handlers (in memory, through
// Connect's own router transport).
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { VmService } from "../../src/api/gen/es/infrasim/v1/vm_pb.ts";
import { bridgeServices } from "../../src/daemon/dashboard/connect.ts";
import {
  CODE_TTL_MS,
  cookieValue,
  SESSION_IDLE_MS,
  Sessions,
} from "../../src/daemon/dashboard/session.ts";
import { loginPage, openerFor } from "../../src/cli/commands/dashboard.ts";
import { serverStream } from "../../src/daemon/dashboard/connect.ts";
import { readFileSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

Deno.test("a login code works once, within its minute", () => {
  let now = 1_000_000;
  const s = new Sessions(() => now);
  const code = s.mintCode();
  const id = s.redeem(code);
  assert.ok(id && id !== code);
  assert.equal(s.redeem(code), undefined, "a second use");
  assert.ok(s.touch(id));

  const late = s.mintCode();
  now += CODE_TTL_MS + 1;
  assert.equal(s.redeem(late), undefined, "an expired code");
  assert.equal(s.redeem(""), undefined);
  assert.equal(s.touch(undefined), false);
  assert.equal(s.touch("forged"), false);
});

Deno.test("a session ends after its idle time; use keeps it", () => {
  let now = 0;
  const s = new Sessions(() => now);
  const id = s.redeem(s.mintCode())!;
  now += SESSION_IDLE_MS - 1;
  assert.ok(s.touch(id));
  now += SESSION_IDLE_MS - 1;
  assert.ok(s.touch(id), "the last use counts");
  now += SESSION_IDLE_MS + 1;
  assert.equal(s.touch(id), false);
});

Deno.test("codes and sessions are bounded: the oldest go first", () => {
  const s = new Sessions();
  const first = s.mintCode();
  for (let i = 0; i < 40; i++) s.mintCode();
  assert.equal(s.redeem(first), undefined, "pushed out by newer codes");
  const ids = Array.from({ length: 70 }, () => s.redeem(s.mintCode())!);
  assert.equal(s.touch(ids[0]), false);
  assert.ok(s.touch(ids[69]));
});

Deno.test("the oldest session to go is the least recently used", () => {
  let now = 0;
  const s = new Sessions(() => now);
  const first = s.redeem(s.mintCode())!;
  for (let i = 0; i < 63; i++) s.redeem(s.mintCode());
  now++;
  assert.ok(s.touch(first)); // used again: now the newest
  const second = s.redeem(s.mintCode())!; // the 65th: one must go
  assert.ok(s.touch(first), "a session in use was evicted");
  assert.ok(s.touch(second));
});

Deno.test("the desktop opens a 0600 page that leads to the link, never the link itself", async () => {
  const url = "http://127.0.0.1:50080/login?code=abc&x=1";
  const file = await loginPage(url);
  try {
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
    const html = readFileSync(file, "utf8");
    assert.ok(html.includes('content="0;url=http://127.0.0.1:50080/login?code=abc&amp;x=1"'), html);
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
});

Deno.test("cookieValue finds one cookie among several", () => {
  assert.equal(cookieValue("a=1; infrasim_session_5=xyz; b=2", "infrasim_session_5"), "xyz");
  assert.equal(cookieValue("infrasim_session_50=xyz", "infrasim_session_5"), undefined);
  assert.equal(cookieValue(undefined, "x"), undefined);
});

Deno.test("the browser opens on a desktop only", () => {
  assert.equal(openerFor("darwin", {}), "open");
  assert.equal(openerFor("linux", { DISPLAY: ":0" }), "xdg-open");
  assert.equal(openerFor("linux", { WAYLAND_DISPLAY: "wayland-0" }), "xdg-open");
  assert.equal(openerFor("linux", {}), undefined, "ssh session: print only");
});

/** grpc-js style handlers behind the bridge: a unary one and a server stream. */
function fakeVmService(seen: { cancelled: boolean; drained: number }) {
  const impl: grpc.UntypedServiceImplementation = {
    GetVm: ((call: { request: { ref: string } }, cb: grpc.sendUnaryData<unknown>) => {
      if (call.request.ref === "missing") {
        return cb({ code: grpc.status.NOT_FOUND, details: 'vm "missing" not found' });
      }
      cb(null, { meta: { id: "id-1", name: call.request.ref }, spec: { memory_mb: 256 } });
    }) as grpc.handleUnaryCall<unknown, unknown>,
    GetSerialLog: ((call: grpc.ServerWritableStream<{ follow: boolean }, unknown>) => {
      call.on("cancelled", () => (seen.cancelled = true));
      let i = 0;
      const pump = () => {
        while (i < 200) {
          if (!call.write({ data: new TextEncoder().encode(`line ${i++}\n`) })) {
            seen.drained++;
            return void call.once("drain", pump);
          }
        }
        if (!call.request.follow) call.end();
      };
      pump();
    }) as grpc.handleServerStreamingCall<unknown, unknown>,
  };
  return [{ name: "infrasim.v1.VmService", impl }];
}

Deno.test("the Connect bridge runs grpc-js handlers: values, errors, streams, cancel", async () => {
  const seen = { cancelled: false, drained: 0 };
  const calls: string[] = [];
  const transport = createRouterTransport(
    (router) =>
      bridgeServices(router, [VmService], fakeVmService(seen), {
        // The fake has two handlers; the bridge refuses a service with one missing.
        skip: new Set(
          VmService.methods.filter((m) => !["GetVm", "GetSerialLog"].includes(m.name))
            .map((m) => `infrasim.v1.VmService/${m.name}`),
        ),
        onCall: (m, code) => calls.push(`${m} ${code}`),
      }),
    { router: { requireConnectProtocolHeader: false } },
  );
  const client = createClient(VmService, transport);

  const vm = await client.getVm({ ref: "web" });
  assert.equal(vm.meta?.name, "web");
  assert.equal(vm.spec?.memoryMb, 256, "snake_case handler objects become protobuf-es fields");

  await assert.rejects(client.getVm({ ref: "missing" }), (e: unknown) => {
    assert.ok(e instanceof ConnectError);
    assert.equal(e.code, Code.NotFound);
    assert.equal(e.rawMessage, 'vm "missing" not found');
    return true;
  });
  assert.deepEqual(calls, [
    "infrasim.v1.VmService/GetVm OK",
    "infrasim.v1.VmService/GetVm NOT_FOUND",
  ]);

  // A stream larger than the bridge's queue: back-pressure, then every message in order.
  let text = "";
  for await (const c of client.getSerialLog({ ref: "web" })) {
    text += new TextDecoder().decode(c.data);
  }
  assert.equal(text.split("\n").length - 1, 200);
  assert.ok(text.startsWith("line 0\n") && text.endsWith("line 199\n"));
  assert.ok(seen.drained > 0, "the handler saw back-pressure");

  // A following stream the client leaves: the handler hears "cancelled".
  const abort = new AbortController();
  let n = 0;
  await assert.rejects(async () => {
    for await (
      const _ of client.getSerialLog({ ref: "web", follow: true }, { signal: abort.signal })
    ) {
      if (++n === 3) abort.abort();
    }
  });
  for (let i = 0; i < 50 && !seen.cancelled; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(seen.cancelled);
});

Deno.test("a stream the browser leaves ends on the daemon's side, queued messages and all", async () => {
  const seen = { cancelled: false, drained: 0 };
  const [svc] = fakeVmService(seen);
  const abort = new AbortController();
  // follow: the handler never ends by itself and has more queued than is read.
  const it = serverStream(svc.impl, "GetSerialLog", { follow: true }, abort.signal);
  for (let i = 0; i < 3; i++) assert.equal((await it.next()).done, false);
  abort.abort();
  const end = await Promise.race([
    it.next().then((r) => r.done),
    new Promise((r) => setTimeout(() => r("still waiting"), 1000)),
  ]);
  assert.equal(end, true);
  assert.ok(seen.cancelled);
});
