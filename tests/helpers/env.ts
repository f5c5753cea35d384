// Shared test fixtures: the compiled binaries under test, the test guests, and a
// real infrasimd per test in its own temporary data dir.
import { InfrasimClient } from "../../src/api/client.ts";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const BIN = join(ROOT, "dist/bin");
export const INFRASIMD = join(BIN, "infrasimd");
export const INFRASIM = join(BIN, "infrasim");
export const GUEST_DIR = process.env.INFRASIM_GUEST_DIR ?? join(ROOT, ".cache/guests");
export const READY = "INFRASIM-READY";

for (const f of [INFRASIMD, INFRASIM]) {
  if (!existsSync(f)) throw new Error(`${f} is missing: run \`deno task build\` first`);
}

export interface Guest {
  arch: "x86_64" | "aarch64";
  kernel: string;
  initrd: string;
  cmdline: string;
  disk: string;
}

export function guest(arch: "x86_64" | "aarch64"): Guest {
  const d = join(GUEST_DIR, arch);
  if (!existsSync(join(d, "kernel"))) {
    throw new Error(`test guest ${d} is missing: run \`deno task guest\` first`);
  }
  return {
    arch,
    kernel: join(d, "kernel"),
    initrd: join(d, "initrd.img"),
    cmdline: readFileSync(join(d, "cmdline"), "utf8").trim(),
    disk: join(d, "disk.qcow2"),
  };
}

/**
 * The real Debian 12 cloud image (tasks/debian_image.sh, cached outside the work tree
 * keyed by its recipe; the test task builds it first, so this only looks it up).
 */
export function debianImage(arch: "x86_64" | "aarch64" = "x86_64"): string {
  const r = spawnSync("bash", [join(ROOT, "tasks/debian_image.sh"), arch], {
    encoding: "utf8",
    timeout: 30 * 60_000,
  });
  if (r.status !== 0) {
    throw new Error(`tasks/debian_image.sh ${arch} failed: ${r.stderr.slice(-2000)}`);
  }
  return r.stdout.trim();
}

/** `infrasim vm create` flags that boot a test guest directly (256 MiB). */
export function guestCliArgs(g: Guest): string[] {
  return [
    "--arch",
    g.arch,
    "--memory",
    "256",
    "--kernel",
    g.kernel,
    "--initrd",
    g.initrd,
    "--cmdline",
    g.cmdline,
  ];
}

/** A spec that boots a test guest directly, with the guest's HTTP port forwarded. */
export function guestSpec(g: Guest, extra: Partial<T.VmSpec> = {}) {
  return {
    arch: g.arch,
    cpu_cores: 1,
    memory_mb: 256,
    boot: { kernel: { kernel_path: g.kernel, initrd_path: g.initrd, cmdline: g.cmdline } },
    network: { mode: "user", port_forwards: [{ guest_port: 80, host_port: 0, protocol: "tcp" }] },
    power_state: "POWER_ON" as const,
    ...extra,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<X>(
  what: string,
  fn: () => X | undefined | false | Promise<X | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<X> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

export class TestDaemon {
  proc!: ChildProcess;
  client!: InfrasimClient;
  stderr = "";
  tcpPort = 0;

  private constructor(readonly dataDir: string) {}

  /** A daemon on a new data dir; `prepare` may fill the dir first (an older release's). */
  static async start(prepare?: (dataDir: string) => void): Promise<TestDaemon> {
    // Short path: unix socket paths are limited to ~104 bytes.
    const d = new TestDaemon(mkdtempSync("/tmp/isd-"));
    uncleaned.add(d.dataDir);
    prepare?.(d.dataDir);
    await d.launch();
    return d;
  }

  get socket(): string {
    return join(this.dataDir, "infrasimd.sock");
  }

  /** Starts infrasimd on this data dir; wait=false returns once the process is spawned. */
  async launch(opts: { wait?: boolean } = {}): Promise<void> {
    this.tcpPort = await freePort();
    this.stderr = "";
    this.proc = spawn(INFRASIMD, [
      "--data-dir",
      this.dataDir,
      "--listen",
      `127.0.0.1:${this.tcpPort}`,
      "--log-level",
      "debug",
      // An ephemeral port: test daemons run side by side (httpPort reads it from the log).
      "--http-listen",
      "127.0.0.1:0",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc.stderr!.setEncoding("utf8");
    this.proc.stderr!.on("data", (d: string) => (this.stderr += d));
    this.client = new InfrasimClient(`unix://${this.socket}`);
    if (opts.wait === false) return;
    await this.ready();
  }

  /** The port of the daemon's HTTP listener, from its log line. */
  get httpPort(): number {
    const m = this.stderr.match(/http listening address="127\.0\.0\.1:(\d+)"/g);
    if (!m) throw new Error(`no http listener in the daemon's log:\n${this.stderr.slice(-2000)}`);
    return Number(m[m.length - 1].match(/:(\d+)"$/)![1]);
  }

  /** Waits for the "ready" log line (adoption done) and a SERVING health check. */
  async ready(): Promise<void> {
    await waitFor("infrasimd to be ready", async () => {
      if (this.proc.exitCode !== null) {
        throw new Error(`infrasimd exited ${this.proc.exitCode}: ${this.stderr}`);
      }
      return this.stderr.includes("infrasimd ready") && (await this.client.health()) === "SERVING";
    }, 20_000);
  }

  /** kill -9: the daemon dies, its VMs must not. */
  async kill9(): Promise<void> {
    this.client.close();
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGKILL");
    await exited;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after 5 s: a test must never hang on a stuck daemon. */
  async stop(): Promise<void> {
    this.client.close();
    if (!this.running) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }

  /** The bearer token the daemon requires on TCP. */
  get token(): string {
    return readFileSync(join(this.dataDir, "token"), "utf8").trim();
  }

  /** A client over this daemon's TCP listener, with the given token (none by default). */
  tcpClient(token?: string): InfrasimClient {
    return new InfrasimClient(`127.0.0.1:${this.tcpPort}`, { token });
  }

  /** Deletes every VM (killing QEMU), stops the daemon and removes the data dir. */
  async cleanup(): Promise<void> {
    try {
      if (this.running) {
        for (
          const vm of (await this.client.listVms({ label_selector: "" }, { timeoutSeconds: 10 }))
            .vms
        ) {
          await this.client.deleteVm({ ref: vm.meta!.id, force: true, with_snapshots: true }, {
            timeoutSeconds: 20,
          })
            .catch(
              () => {},
            );
        }
        for (
          const n
            of (await this.client.listNetworks({ label_selector: "" }, { timeoutSeconds: 10 }))
              .networks
        ) {
          await this.client.deleteNetwork(n.meta!.id, { timeoutSeconds: 20 }).catch(() => {});
        }
      }
    } finally {
      await this.stop();
      // Anything left (a test that failed half-way) must not outlive the test.
      spawnSync("pkill", ["-9", "-f", `${this.dataDir}/`]);
      rmSync(this.dataDir, { recursive: true, force: true });
      uncleaned.delete(this.dataDir);
    }
  }

  serialLog(vm: T.Vm): string {
    try {
      return readFileSync(vm.status!.serial_log_path, "utf8");
    } catch {
      return "";
    }
  }

  async waitSerial(vm: T.Vm, text: string, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `"${text}" on the serial console of ${vm.meta!.name}`,
      () => this.serialLog(vm).includes(text),
      timeoutMs,
      50,
    );
  }

  /**
   * Runs the compiled CLI against this daemon; it is killed (code -1) after timeoutMs,
   * which a command with a --timeout of its own must exceed.
   */
  cli(
    args: string[],
    input?: string,
    timeoutMs = 120_000,
  ): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(INFRASIM, args, {
      encoding: "utf8",
      env: { ...process.env, INFRASIM_DATA_DIR: this.dataDir, INFRASIM_DAEMON_ADDRESS: "" },
      input,
      timeout: timeoutMs,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }
}

/** pids of live (not zombie) QEMU processes whose command line carries this VM id. */
export function qemuPids(vmId: string): number[] {
  return pgrep(`uuid ${vmId}`);
}

/** pids of live QEMU processes of any VM of one data dir. */
export function qemuPidsIn(dataDir: string): number[] {
  return pgrep(`qemu-system.*${dataDir}/vms/`);
}

function pgrep(pattern: string): number[] {
  const r = spawnSync("pgrep", ["-f", pattern], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number).filter(processAlive).sort((a, b) =>
    a - b
  );
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export async function httpGet(port: number, timeoutMs = 30_000): Promise<string> {
  return await waitFor(
    `HTTP on 127.0.0.1:${port}`,
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
      return r.ok ? (await r.text()).trim() : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Deno.test options shared by the end-to-end tests: real processes, no op sanitizers. */
export const E2E = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false };

/**
 * Data dirs of daemons not cleaned up yet. A test file that ends on an uncaught error
 * skips the tests' finally blocks; its daemons, QEMUs and link engines (every command line
 * names the data dir) are killed when the file's process exits, not left running.
 */
const uncleaned = new Set<string>();
globalThis.addEventListener("unload", () => {
  for (const dir of uncleaned) {
    spawnSync("pkill", ["-9", "-f", `${dir}/`]);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An end-to-end test with its own daemon, cleaned up (VMs, QEMU, data dir) afterwards. */
export function e2eTest(name: string, fn: (d: TestDaemon) => Promise<void> | void): void {
  Deno.test({
    name,
    ...E2E,
    fn: async () => {
      const d = await TestDaemon.start();
      try {
        await fn(d);
      } finally {
        await d.cleanup();
      }
    },
  });
}
