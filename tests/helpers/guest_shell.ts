// Running commands in a test guest through its serial console (the guest keeps a root
// shell there), and reading what ping prints.
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import type { InfrasimClient } from "../../src/api/client.ts";

let seq = 0;

/**
 * Types `cmd` into the guest's console and resolves to its output and exit code. The
 * markers are written as $((n+0)), so the echoed command line never matches them.
 */
export function guestSh(
  client: InfrasimClient,
  vm: T.Vm | string,
  cmd: string,
  timeoutMs = 60_000,
): Promise<{ out: string; code: number }> {
  const ref = typeof vm === "string" ? vm : vm.meta!.id;
  const tag = `${process.pid % 10000}${++seq}`;
  const start = `@@S${tag}\r\n`;
  const end = new RegExp(`@@E${tag} (\\d+)`);
  let text = "";
  return new Promise((resolve, reject) => {
    const session = client.console(ref, (chunk) => {
      text += new TextDecoder().decode(chunk);
      const m = text.match(end);
      const s = text.indexOf(start);
      if (!m || s < 0) return;
      clearTimeout(timer);
      session.close();
      resolve({
        out: text.slice(s + start.length, m.index).replaceAll("\r", ""),
        code: Number(m[1]),
      });
    });
    const timer = setTimeout(() => {
      session.close();
      reject(
        new Error(`guest command timed out after ${timeoutMs} ms: ${cmd}\n${text.slice(-2000)}`),
      );
    }, timeoutMs);
    session.done.catch((e) => {
      clearTimeout(timer);
      reject(e);
    });
    // One line (a second one typed ahead would be echoed into the output); "cmd &" is
    // already separated from what follows.
    const sep = cmd.trim().endsWith("&") ? " " : "; ";
    session.write(`echo @@S$((${tag}+0)); ${cmd}${sep}echo @@E$((${tag}+0)) $?\n`);
  });
}

export interface PingResult {
  transmitted: number;
  received: number;
  rtts: number[];
  /** The slowest reply (ms), from the summary when -q left out the replies. */
  max: number;
}

/** busybox ping's output: per-reply times and the summary. */
export function parsePing(out: string): PingResult {
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const sum = out.match(/(\d+) packets transmitted, (\d+) packets received/);
  const max = out.match(/min\/avg\/max = [\d.]+\/[\d.]+\/([\d.]+)/);
  return {
    max: max ? Number(max[1]) : Math.max(0, ...rtts),
    transmitted: sum ? Number(sum[1]) : 0,
    received: sum ? Number(sum[2]) : rtts.length,
    rtts,
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function stddev(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
}
