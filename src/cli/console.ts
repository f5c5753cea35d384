// `infrasim vm console`: a raw-terminal serial console through the daemon's API.
import type { InfrasimClient } from "../api/client.ts";
import { TerminalQueryFilter } from "./terminal.ts";

const DETACH = 0x1d; // Ctrl-]

export async function attachConsole(client: InfrasimClient, ref: string): Promise<void> {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  // Piped: nobody types answers to the guest's terminal queries, so the terminal must not.
  const filter = tty ? undefined : new TerminalQueryFilter();
  let attached = false;
  const session = client.console(ref, (chunk) => {
    if (!attached) {
      attached = true;
      process.stderr.write(`Connected to ${ref}${tty ? " (Ctrl-] to detach)" : ""}\r\n`);
      if (tty) stdin.setRawMode(true);
    }
    if (chunk.length) process.stdout.write(filter ? filter.push(chunk) : chunk);
  });
  const onData = (chunk: Uint8Array) => {
    const i = chunk.indexOf(DETACH);
    if (i >= 0) {
      if (i > 0) session.write(chunk.subarray(0, i));
      session.close();
      return;
    }
    session.write(chunk);
  };
  stdin.on("data", onData);
  // Piped input: detach once it ends, after the daemon has had time to pass it on.
  stdin.once("end", () => setTimeout(() => session.close(), 500));
  stdin.resume();
  try {
    await session.done;
  } finally {
    stdin.off("data", onData);
    if (tty && attached) stdin.setRawMode(false);
    stdin.pause();
    if (filter) process.stdout.write(filter.flush());
    if (attached) process.stderr.write("\r\nDetached.\r\n");
  }
}
