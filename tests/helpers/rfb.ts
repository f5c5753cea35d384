// A minimal VNC (RFB 3.8) client for the tests: the handshake with no authentication (a
// VNC server on a unix socket that only its user can open) and one full framebuffer in
// raw encoding, to see what a VM's screen shows.
import { connect, type Socket } from "node:net";

export interface Frame {
  width: number;
  height: number;
  bytesPerPixel: number;
  pixels: Uint8Array;
  name: string;
}

class Reader {
  #chunks: Buffer[] = [];
  #have = 0;
  #wake: (() => void) | undefined;
  #error: Error | undefined;
  constructor(private readonly s: Socket) {
    s.on("data", (d: Buffer) => {
      this.#chunks.push(d);
      this.#have += d.length;
      this.#wake?.();
    });
    const fail = (e: Error) => ((this.#error = e), this.#wake?.());
    s.on("error", fail);
    s.on("close", () => fail(new Error("the VNC server closed the connection")));
  }

  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#have < n) {
      if (this.#error) throw this.#error;
      if (Date.now() > deadline) throw new Error(`VNC: ${n} bytes not read within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 100);
      });
    }
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all.subarray(n)];
    this.#have -= n;
    return all.subarray(0, n);
  }
}

/** Connects to a VNC unix socket and reads one whole frame. */
export async function vncFrame(path: string): Promise<Frame> {
  const s = connect(path);
  const r = new Reader(s);
  try {
    const version = (await r.read(12)).toString("latin1");
    if (!version.startsWith("RFB 003.")) throw new Error(`not an RFB server: ${version}`);
    s.write("RFB 003.008\n");
    const types = [...(await r.read((await r.read(1))[0]))];
    if (!types.includes(1)) throw new Error(`no "None" security type offered: ${types}`);
    s.write(Buffer.from([1]));
    if ((await r.read(4)).readUInt32BE(0) !== 0) throw new Error("VNC security failed");
    s.write(Buffer.from([1])); // ClientInit: shared
    const init = await r.read(24);
    const [width, height, bpp] = [init.readUInt16BE(0), init.readUInt16BE(2), init[4]];
    const name = (await r.read(init.readUInt32BE(20))).toString("utf8");
    const req = Buffer.alloc(10);
    req[0] = 3; // FramebufferUpdateRequest, not incremental, the whole screen
    req.writeUInt16BE(width, 6);
    req.writeUInt16BE(height, 8);
    s.write(req);
    const pixels = new Uint8Array(width * height * (bpp / 8));
    for (;;) {
      const head = await r.read(4);
      if (head[0] !== 0) throw new Error(`unexpected VNC message ${head[0]}`);
      for (let i = 0; i < head.readUInt16BE(2); i++) {
        const rect = await r.read(12);
        const [x, y, w, h] = [0, 2, 4, 6].map((o) => rect.readUInt16BE(o));
        if (rect.readInt32BE(8) !== 0) throw new Error(`encoding ${rect.readInt32BE(8)}, not raw`);
        const data = await r.read(w * h * (bpp / 8));
        for (let row = 0; row < h; row++) {
          const at = ((y + row) * width + x) * (bpp / 8);
          pixels.set(data.subarray(row * w * (bpp / 8), (row + 1) * w * (bpp / 8)), at);
        }
      }
      return { width, height, bytesPerPixel: bpp / 8, pixels, name };
    }
  } finally {
    s.destroy();
  }
}

/** How many pixels differ from the most common colour (32-bit pixels). */
export function nonUniformPixels(f: Frame): number {
  const counts = new Map<number, number>();
  const view = new DataView(f.pixels.buffer, f.pixels.byteOffset, f.pixels.byteLength);
  for (let o = 0; o + 4 <= f.pixels.length; o += f.bytesPerPixel) {
    const p = view.getUint32(o);
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  return f.pixels.length / f.bytesPerPixel - top;
}

/** `infrasim vm create` arguments of a started UEFI x86_64 VM with a screen, from a disk. */
export function screenVmArgs(name: string, disk: string): string[] {
  return [
    "vm",
    "create",
    "--name",
    name,
    "--arch",
    "x86_64",
    "--memory",
    "512",
    "--disk",
    disk,
    "--display",
    "vnc",
    "--no-network",
    "--start",
  ];
}
