// Host port allocation for port forwards. The store's unique (protocol, host_port)
// key guarantees two VMs never hold the same port; a bind test skips ports that
// another program on the host is using.
import { createServer } from "node:net";
import { createSocket } from "node:dgram";

export function portFree(protocol: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === "udp") {
      const s = createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Picks a free port in [start, end] that `taken` does not hold, from a random offset. */
export async function pickPort(
  protocol: string,
  start: number,
  end: number,
  taken: (port: number) => boolean,
): Promise<number | undefined> {
  const span = end - start + 1;
  const offset = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = start + ((offset + i) % span);
    if (taken(port)) continue;
    if (await portFree(protocol, port)) return port;
  }
  return undefined;
}
