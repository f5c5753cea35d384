// The daemon's one connection to a VM's serial socket. It is always drained (an
// unread socket blocks the aarch64 PL011 UART and hangs the guest); QEMU itself
// writes the log file, and live output is fanned out to console subscribers.
import { connect, type Socket } from "node:net";

export type SerialListener = (chunk: Uint8Array) => void;

export class SerialPort {
  #sock: Socket;
  #listeners = new Set<SerialListener>();

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on("data", (chunk: Uint8Array) => {
      for (const l of this.#listeners) l(chunk);
    });
    sock.on("error", () => {});
  }

  static connect(path: string, timeoutMs = 5000): Promise<SerialPort> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`serial socket ${path}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once("connect", () => {
        clearTimeout(timer);
        resolve(new SerialPort(sock));
      });
      sock.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`serial socket ${path}: ${err.message}`));
      });
    });
  }

  subscribe(l: SerialListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  write(data: Uint8Array): void {
    this.#sock.write(data);
  }

  close(): void {
    this.#listeners.clear();
    this.#sock.destroy();
  }
}
