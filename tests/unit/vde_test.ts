// The vde2 command lines and the wirefilter console's replies (their forms as vde2 2.3.2
// prints them, seen on this machine kind).
import assert from "node:assert/strict";
import {
  type LinkQos,
  qosCommands,
  replyStatus,
  switchArgs,
  wirefilterArgs,
} from "../../src/network/vde.ts";

const Q: LinkQos = {
  latency_ms: 40,
  jitter_ms: 5,
  loss_percent: 1,
  duplicate_percent: 0,
  rate_kbps: 10000,
};

Deno.test("vde: switch and wirefilter command lines; rates in bytes per second", () => {
  assert.deepEqual(
    switchArgs({ sock: "/r/sw", mgmt: "/r/sw.mgmt", pidFile: "/r/sw.pid", ports: 1024 }),
    [
      "-s",
      "/r/sw",
      "-M",
      "/r/sw.mgmt",
      "-n",
      "1024",
      "-p",
      "/r/sw.pid",
      "-d",
    ],
  );
  assert.deepEqual(switchArgs({ sock: "/r/p", pidFile: "/r/p.pid" }), [
    "-s",
    "/r/p",
    "-p",
    "/r/p.pid",
    "-d",
  ]);
  const a = wirefilterArgs("/r/vm", "/r/net", Q, "/r/wf.mgmt", "/r/wf.pid");
  assert.deepEqual(a.slice(0, 10), [
    "-v",
    "/r/vm:/r/net",
    "-d",
    "LR40+5",
    "-l",
    "LR1",
    "-D",
    "LR0",
    "-b",
    "LR1250000",
  ]);
  assert.deepEqual(qosCommands({ ...Q, jitter_ms: 0, rate_kbps: 0 }), [
    "delay LR40",
    "loss LR1",
    "dup LR0",
    "bandwidth LR0",
  ]);
  assert.deepEqual(replyStatus("1000 Success\n\nVDEwf$ "), { code: 1000, message: "Success" });
  assert.deepEqual(replyStatus("1038 Function not implemented\n"), {
    code: 1038,
    message: "Function not implemented",
  });
  assert.deepEqual(replyStatus("0000 DATA END WITH '.'\nx\n.\n1000 Success\n"), {
    code: 1000,
    message: "Success",
  });
  assert.equal(replyStatus("0000 DATA END WITH '.'\nx\n"), undefined);
});
