// The QEMU guest agent (qemu-ga) on a VM's virtio-serial port org.qemu.guest_agent.0,
// reached through the unix socket QEMU serves for it. Used to set the guest's clock after
// its memory was loaded from a snapshot. A guest without the agent never answers, so
// every exchange is bounded; the channel stays usable for the next one (guest-sync-
// delimited skips whatever an earlier, cut-short client left in it).
import { connect } from "node:net";
import { randomInt } from "node:crypto";
import { TimeoutError, withTimeout } from "../timeout.ts";

/** 0xFF: the agent's JSON parser resets on it, and its delimited sync reply starts with it. */
const DELIMITER = 0xff;

/**
 * The replies after the sync's delimiter, one JSON object per line; pure, for the tests.
 * Returns the objects complete so far, or undefined before the delimiter has come.
 */
export function parseAgentStream(buf: Uint8Array): unknown[] | undefined {
  const at = buf.lastIndexOf(DELIMITER);
  if (at < 0) return undefined;
  const text = new TextDecoder().decode(buf.subarray(at + 1));
  const lines = text.split("\n");
  lines.pop(); // not complete yet
  return lines.filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/**
 * Sets the guest's clock to `timeNs` (ns since the epoch); resolves with "" when the
 * agent did, else with why not (no agent answered in time, or its error).
 */
export async function setGuestTime(
  socket: string,
  timeNs: bigint,
  timeoutMs: number,
): Promise<string> {
  const id = randomInt(1, 2 ** 31);
  const s = connect(socket);
  let buf = new Uint8Array(0);
  const replies = new Promise<string>((resolve, reject) => {
    let synced = false;
    s.on("connect", () => {
      s.write(new Uint8Array([DELIMITER]));
      s.write(`{"execute":"guest-sync-delimited","arguments":{"id":${id}}}\n`);
    });
    s.on("data", (d: Uint8Array) => {
      const joined = new Uint8Array(buf.length + d.length);
      joined.set(buf);
      joined.set(d, buf.length);
      buf = joined;
      try {
        const got = parseAgentStream(buf) as Array<{ return?: unknown; error?: { desc?: string } }>;
        if (!got) return;
        if (!synced && got.some((r) => r.return === id)) {
          synced = true;
          // A literal integer: ns since the epoch are beyond a double's exact range.
          s.write(`{"execute":"guest-set-time","arguments":{"time":${timeNs}}}\n`);
          return;
        }
        const last = got[got.length - 1];
        if (synced && last && last.return !== id) {
          resolve(
            last.error ? `the guest agent refused: ${String(last.error.desc).slice(0, 120)}` : "",
          );
        }
      } catch (e) {
        reject(e);
      }
    });
    s.on("error", (e) => reject(e));
    s.on("close", () => reject(new Error("the guest agent's channel closed")));
  });
  try {
    return await withTimeout(replies, timeoutMs, "the guest agent");
  } catch (e) {
    if (e instanceof TimeoutError) {
      const within = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`;
      return `no guest agent answered within ${within}`;
    }
    // A QEMU started by an earlier release, without the channel.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      return "the VM has no guest agent channel: restart it to get one";
    }
    return `the guest agent's channel failed: ${(e as Error).message.slice(0, 120)}`;
  } finally {
    s.destroy();
  }
}
