// `link-engine --dir DIR [--daemon]`: a network's link engine, a mode of the one
// executable. It loads DIR/engine.json, listens on DIR/engine.sock for changes, and writes
// DIR/engine.pid once it listens. With --daemon it starts itself detached and returns
// when that copy is ready, as QEMU's -daemonize does, so it outlives the daemon.
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ENGINE_FILES, type EngineConfig } from "../network/engine_protocol.ts";
import { readPidFile } from "../process/os.ts";
import { selfCommand } from "../process/self.ts";
import { sleep, withTimeout } from "../timeout.ts";
import { controlServer } from "./control.ts";
import { Engine } from "./engine.ts";

const READY_TIMEOUT_MS = 10_000;

export async function runLinkEngine(args: string[]): Promise<number> {
  const i = args.indexOf("--dir");
  const dir = i >= 0 ? args[i + 1] : undefined;
  if (!dir) {
    process.stderr.write("usage: link-engine --dir DIR [--daemon]\n");
    return 2;
  }
  return args.includes("--daemon") ? await daemonize(dir, args) : await serve(dir);
}

async function daemonize(dir: string, args: string[]): Promise<number> {
  const log = openSync(join(dir, ENGINE_FILES.log), "a", 0o600);
  const rest = args.filter((a) => a !== "--daemon");
  const self = selfCommand("link-engine", ...rest);
  const child = spawn(self.binary, self.args, {
    detached: true,
    stdio: ["ignore", log, log],
  });
  let exited: string | undefined;
  child.on("exit", (code, sig) => (exited = `exit ${code ?? sig}`));
  child.unref();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    if ((await readPidFile(join(dir, ENGINE_FILES.pid))) === child.pid) return 0;
    await sleep(10);
  }
  process.stderr.write(
    `link engine did not become ready (${exited ?? "timeout"}); see ${
      join(dir, ENGINE_FILES.log)
    }\n`,
  );
  if (!exited) child.kill("SIGKILL");
  return 1;
}

async function serve(dir: string): Promise<number> {
  const engine = new Engine();
  const cfgPath = join(dir, ENGINE_FILES.config);
  try {
    engine.apply(
      JSON.parse(await withTimeout(readFile(cfgPath, "utf8"), 5000, cfgPath)) as EngineConfig,
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const sock = join(dir, ENGINE_FILES.control);
  await rm(sock, { force: true });
  const server = controlServer(engine);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(sock, () => resolve());
  });
  await writeFile(join(dir, ENGINE_FILES.pid), `${process.pid}\n`, { mode: 0o600 });
  return await new Promise<number>((resolve) => {
    const stop = () => {
      engine.close();
      server.close();
      rm(sock, { force: true }).finally(() => resolve(0));
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
