// `infrasim vm console`: a raw-terminal serial console through the daemon's API.
import type { InfrasimClient } from "../api/client.ts";

const DETACH = 0x1d; // Ctrl-]

export async function attachConsole(client: InfrasimClient, ref: string): Promise<void> {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  const session = client.console(ref, (chunk) => process.stdout.write(chunk));
  process.stderr.write(`Connected to ${ref}${tty ? " (Ctrl-] to detach)" : ""}\r\n`);
  if (tty) stdin.setRawMode(true);
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
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\r\nDetached.\r\n");
  }
}
