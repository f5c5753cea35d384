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

/** A silent peer (a laptop gone to sleep) is dropped after one missed ping. */
const PING_MS = 30_000;

export interface DashboardSockets {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every open WebSocket (the daemon is stopping). */
  closeAll(): void;
}

export function dashboardSockets(vms: VmController): DashboardSockets {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  // One timer for every socket: each must have answered the last ping.
  const alive = new WeakSet<WebSocket>();
  const pinger = setInterval(() => {
    for (const ws of sockets) {
      if (!alive.has(ws)) ws.terminate();
      else {
        alive.delete(ws);
        ws.ping();
      }
    }
  }, PING_MS);
  pinger.unref?.();
  const track = (ws: WebSocket) => {
    // First of all: a bad frame (too large, a bad close code) is an 'error' event, and
    // one with no listener would end the daemon.
    ws.on("error", (e) => log.debug("dashboard websocket error", { error: String(e) }));
    sockets.add(ws);
    alive.add(ws);
    ws.on("pong", () => alive.add(ws));
    ws.on("close", () => sockets.delete(ws));
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
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
    if (m[1] === "vnc" && vm.spec.display !== "vnc") return refuse(409, "Conflict");
    wss.handleUpgrade(req, socket, head, (ws) => {
      track(ws);
      rt.exited.then(() => closeWith(ws, 1000, "the VM stopped"));
      if (m[1] === "vnc") return screen(ws, paths.vncSocket);
      attach(ws, rt, paths.serialLog).catch((e) => {
        log.warn("console websocket failed", { vm: id, error: String(e) });
        closeWith(ws, 1011, "console failed");
      });
    });
  };
  return {
    upgrade,
    closeAll() {
      clearInterval(pinger);
      for (const ws of sockets) ws.terminate();
    },
  };
}

/** A close whose reason fits the protocol's 123 bytes, whatever its text. */
function closeWith(ws: WebSocket, code: number, reason: string): void {
  const bytes = new TextEncoder().encode(reason).subarray(0, 120);
  ws.close(code, new TextDecoder().decode(bytes).replace(/\uFFFD$/, ""));
}

type Runtime = NonNullable<ReturnType<VmController["runner"]["runtime"]>>;

async function attach(ws: WebSocket, rt: Runtime, logPath: string): Promise<void> {
  const tail = await withTimeout(readTail(logPath), 5000, "serial log").catch(() => undefined);
  if (ws.readyState !== ws.OPEN) return;
  if (tail?.length) ws.send(tail);
  const unsubscribe = rt.serial.subscribe((chunk) => {
    if (ws.bufferedAmount > MAX_BUFFERED) return closeWith(ws, 1013, "the page did not keep up");
    ws.send(chunk);
  });
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary) rt.serial.write(new Uint8Array(data));
  });
  ws.on("close", unsubscribe);
  ws.on("error", unsubscribe);
}

/** One viewer's own VNC connection to QEMU, byte for byte both ways. */
function screen(ws: WebSocket, path: string): void {
  const vnc = connect(path);
  vnc.setTimeout(10_000, () => vnc.destroy(new Error("no answer from QEMU's VNC socket")));
  vnc.once("connect", () => vnc.setTimeout(0));
  vnc.on("data", (chunk: Buffer) => {
    if (ws.bufferedAmount > MAX_BUFFERED) return closeWith(ws, 1013, "the page did not keep up");
    ws.send(chunk);
  });
  vnc.on("error", (e) => closeWith(ws, 1011, e.message));
  vnc.on("close", () => closeWith(ws, 1000, "the screen closed"));
  ws.on("message", (data: Buffer) => vnc.write(data));
  ws.on("close", () => vnc.destroy());
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
