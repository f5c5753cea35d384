// wirefilter's management console: a text protocol on a unix socket. It greets with a
// banner and a "VDEwf$ " prompt and takes one command at a time: each is answered by a
// status line ("1000 Success") and a new prompt, which must come before the next.
import { createConnection, type Socket } from "node:net";
import { replyStatus } from "./vde.ts";

const PROMPT = "$ ";

/** Runs commands in order; rejects on the first that fails, or after timeoutMs in all. */
export function runConsole(path: string, commands: string[], timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = "";
    let i = -1; // -1: waiting for the greeting
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`wirefilter console ${path}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const next = () => {
      i++;
      buf = "";
      if (i >= commands.length) return done();
      sock.write(`${commands[i]}\n`);
    };
    const sock: Socket = createConnection(path);
    sock.setEncoding("utf8");
    sock.on("error", (e) => done(new Error(`wirefilter console ${path}: ${e.message}`)));
    sock.on("close", () => done(new Error(`wirefilter console ${path} closed`)));
    sock.on("data", (d: string) => {
      buf += d;
      if (buf.length > 65536) return done(new Error("wirefilter console: reply too long"));
      if (!buf.endsWith(PROMPT)) return;
      if (i >= 0) {
        const st = replyStatus(buf);
        if (!st) return; // a prompt-like line inside a data block: wait for the rest
        if (st.code !== 1000) {
          return done(new Error(`wirefilter: ${commands[i]}: ${st.code} ${st.message}`));
        }
      }
      next();
    });
  });
}
