// The dashboard's WebSockets (after the listener's session and Origin checks): a VM's
// serial console, bridged to the same fan-out `infrasim vm console` uses (a viewer first
// gets the tail of the serial log, so it sees what the guest printed before it came),
// and its screen: the bytes of QEMU's VNC unix socket, for noVNC in the page.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { open } from "node:fs/promises";
import { connect } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { runPaths } from "../../qemu/launch.ts";
import type { VmController } from "../controllers/vm/controller.ts";
import { withTimeout } from "../../timeout.ts";
import { log } from "../log.ts";

const REPLAY_BYTES = 64 * 1024;
/** Output a viewer may leave unsent before it is cut off (a stalled tab holds no memory). */
const MAX_BUFFERED = 4 << 20;

export function dashboardSockets(vms: VmController) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (code: number, why: string) =>
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    const m = /^\/ws\/(console|vnc)\/([^/?]{1,100})$/.exec((req.url ?? "").split("?")[0]);
    if (!m) return refuse(404, "Not Found");
    let vm;
    try {
      vm = vms.find(decodeURIComponent(m[2]));
    } catch {
      return refuse(404, "Not Found");
    }
    const id = vm.meta.id;
    const rt = vms.runner.runtime(id);
    if (!rt) return refuse(409, "Conflict");
    const paths = runPaths(vms.vmDir(id));
    if (m[1] === "vnc") {
      if (vm.spec.display !== "vnc") return refuse(409, "Conflict");
      return wss.handleUpgrade(req, socket, head, (ws) => screen(ws, paths.vncSocket, rt));
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      attach(ws, rt, paths.serialLog).catch((e) => {
        log.warn("console websocket failed", { vm: id, error: String(e) });
        ws.close(1011, "console failed");
      });
    });
  };
}

type Runtime = NonNullable<ReturnType<VmController["runner"]["runtime"]>>;

async function attach(ws: WebSocket, rt: Runtime, logPath: string): Promise<void> {
  const tail = await withTimeout(readTail(logPath), 5000, "serial log").catch(() => undefined);
  if (ws.readyState !== ws.OPEN) return;
  if (tail?.length) ws.send(tail);
  const unsubscribe = rt.serial.subscribe((chunk) => {
    if (ws.bufferedAmount > MAX_BUFFERED) return ws.close(1013, "the page did not keep up");
    ws.send(chunk);
  });
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary) rt.serial.write(new Uint8Array(data));
  });
  ws.on("close", unsubscribe);
  ws.on("error", unsubscribe);
  rt.exited.then(() => ws.close(1000, "the VM stopped"));
}

/** One viewer's own VNC connection to QEMU, byte for byte both ways. */
function screen(ws: WebSocket, path: string, rt: Runtime): void {
  const vnc = connect(path);
  vnc.setTimeout(10_000, () => vnc.destroy(new Error("no answer from QEMU's VNC socket")));
  vnc.once("connect", () => vnc.setTimeout(0));
  vnc.on("data", (chunk: Buffer) => {
    if (ws.bufferedAmount > MAX_BUFFERED) return ws.close(1013, "the page did not keep up");
    ws.send(chunk);
  });
  vnc.on("error", (e) => ws.close(1011, e.message.slice(0, 100)));
  vnc.on("close", () => ws.close(1000, "the screen closed"));
  ws.on("message", (data: Buffer) => vnc.write(data));
  ws.on("close", () => vnc.destroy());
  rt.exited.then(() => ws.close(1000, "the VM stopped"));
}

async function readTail(path: string): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - REPLAY_BYTES);
    const buf = new Uint8Array(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
