// A minimal QMP client over a unix socket: the greeting, qmp_capabilities, then
// commands matched to replies by id, and asynchronous events. QEMU serves one QMP
// client per monitor socket, so the daemon keeps exactly one open per VM. Every
// command has a timeout: a frozen QEMU must never hang its caller.
import { connect, type Socket } from "node:net";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {}

/** How long a command may take unless its caller says otherwise. */
const QMP_TIMEOUT_MS = 5000;

export class QmpClient {
  #sock: Socket;
  #buf = "";
  #nextId = 1;
  #pending = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: number }
  >();
  #closed = false;
  onEvent: (e: QmpEvent) => void = () => {};
  onClose: () => void = () => {};

  private constructor(sock: Socket) {
    this.#sock = sock;
  }

  /** Connects and negotiates capabilities; rejects within timeoutMs. */
  static connect(path: string, timeoutMs = QMP_TIMEOUT_MS): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const client = new QmpClient(sock);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new QmpError(`QMP at ${path}: no greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      let greeted = false;
      sock.setEncoding("utf8");
      sock.on("error", (err) => {
        clearTimeout(timer);
        if (!greeted) reject(new QmpError(`QMP at ${path}: ${err.message}`));
      });
      sock.on("close", () => client.#handleClose());
      sock.on("data", (chunk: string) => {
        client.#buf += chunk;
        let nl: number;
        while ((nl = client.#buf.indexOf("\n")) >= 0) {
          const line = client.#buf.slice(0, nl).trim();
          client.#buf = client.#buf.slice(nl + 1);
          if (!line) continue;
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(line);
          } catch {
            continue;
          }
          if (!greeted && "QMP" in msg) {
            greeted = true;
            client.execute("qmp_capabilities").then(() => {
              clearTimeout(timer);
              resolve(client);
            }, (e) => {
              clearTimeout(timer);
              reject(e);
            });
            continue;
          }
          client.#dispatch(msg);
        }
      });
    });
  }

  #dispatch(msg: Record<string, unknown>) {
    if ("event" in msg) {
      this.onEvent(msg as unknown as QmpEvent);
      return;
    }
    const id = msg.id as string | undefined;
    const waiter = id ? this.#pending.get(id) : undefined;
    if (!waiter) return;
    this.#pending.delete(id!);
    clearTimeout(waiter.timer);
    if ("error" in msg) {
      const err = msg.error as { class: string; desc: string };
      waiter.reject(new QmpError(`${err.class}: ${err.desc}`));
    } else {
      waiter.resolve(msg.return);
    }
  }

  #handleClose() {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#pending.values()) {
      clearTimeout(w.timer);
      w.reject(new QmpError("QMP connection closed"));
    }
    this.#pending.clear();
    this.onClose();
  }

  /** Runs a command; rejects with a QmpError on an error reply or after timeoutMs. */
  execute<R = unknown>(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = QMP_TIMEOUT_MS,
  ): Promise<R> {
    if (this.#closed) return Promise.reject(new QmpError("QMP connection closed"));
    const id = String(this.#nextId++);
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new QmpError(`QMP ${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs) as unknown as number;
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#sock.write(JSON.stringify({ execute: command, arguments: args, id }) + "\n");
    });
  }

  close(): void {
    this.#sock.destroy();
  }
}
