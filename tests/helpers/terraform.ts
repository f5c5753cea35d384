// Runs the real `terraform` against the compiled provider (dev_overrides), each
// workspace in its own temporary directory.
import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import type { Readable } from "node:stream";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT, type TestDaemon } from "./env.ts";

export function terraformBinary(): string {
  const r = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(
      "terraform (1.11) is required on PATH for the provider tests; it is part of this machine image",
    );
  }
  return "terraform";
}

export interface TfResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class Workspace {
  readonly dir = mkdtempSync("/tmp/istf-");
  /** Extra environment for terraform (and so for the provider). */
  env: Record<string, string> = {};

  constructor(readonly daemon: TestDaemon) {
    terraformBinary();
    writeFileSync(
      join(this.dir, "cli.tfrc"),
      `provider_installation {\n  dev_overrides { "infrasim/infrasim" = "${BIN}" }\n  direct {}\n}\n`,
    );
  }

  /** Writes main.tf: the provider block plus the given HCL. */
  write(hcl: string, file = "main.tf"): void {
    const header = file === "main.tf"
      ? `terraform {\n  required_providers {\n    infrasim = { source = "infrasim/infrasim" }\n  }\n}\n\n` +
        `provider "infrasim" {\n  daemon_address = "unix://${this.daemon.socket}"\n}\n\n`
      : "";
    writeFileSync(join(this.dir, file), header + hcl);
  }

  /** Writes an example's main.tf as it is, its provider block pointed at this daemon. */
  writeExample(relPath: string): void {
    const src = readFileSync(join(ROOT, relPath), "utf8");
    writeFileSync(
      join(this.dir, "main.tf"),
      src.replace(
        'provider "infrasim" {}',
        `provider "infrasim" {\n  daemon_address = "unix://${this.daemon.socket}"\n}`,
      ),
    );
  }

  /** Starts terraform in this workspace; detached puts it in its own process group. */
  spawn(
    args: string[],
    opts: { detached?: boolean } = {},
  ): ChildProcessByStdio<null, Readable, Readable> {
    return spawn("terraform", [...args, "-no-color"], {
      cwd: this.dir,
      env: {
        ...process.env,
        TF_CLI_CONFIG_FILE: join(this.dir, "cli.tfrc"),
        TF_IN_AUTOMATION: "1",
        CHECKPOINT_DISABLE: "1",
        INFRASIM_DATA_DIR: this.daemon.dataDir,
        ...this.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: !!opts.detached,
    });
  }

  run(...args: string[]): Promise<TfResult> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const child = this.spawn(args);
      let stdout = "", stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on(
        "exit",
        (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }),
      );
    });
  }

  async apply(): Promise<TfResult> {
    const r = await this.run("apply", "-auto-approve");
    if (r.code !== 0) throw new Error(`terraform apply failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  async destroy(): Promise<TfResult> {
    const r = await this.run("destroy", "-auto-approve");
    if (r.code !== 0) throw new Error(`terraform destroy failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  async output(name: string): Promise<string> {
    const r = await this.run("output", "-raw", name);
    if (r.code !== 0) throw new Error(`terraform output ${name} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** HCL for a VM booting the test guest directly. */
export function vmHcl(
  name: string,
  g: { arch: string; kernel: string; initrd: string; cmdline: string },
  extra = "",
  label = name,
): string {
  return `resource "infrasim_vm" "${label}" {
  name      = "${name}"
  arch      = "${g.arch}"
  memory_mb = 256
  kernel    = "${g.kernel}"
  initrd    = "${g.initrd}"
  cmdline   = "${g.cmdline}"
${extra}}
`;
}

/**
 * Another workspace with this configuration adopts existing objects ([address, id or
 * name] each) with `terraform import`; its first plan must then be empty.
 */
export async function assertImportPlansEmpty(
  daemon: TestDaemon,
  hcl: string,
  imports: Array<[string, string]>,
): Promise<void> {
  const ws = new Workspace(daemon);
  try {
    ws.write(hcl);
    for (const [address, ref] of imports) {
      const imp = await ws.run("import", address, ref);
      if (imp.code !== 0) {
        throw new Error(`terraform import ${address} ${ref}:\n${imp.stdout}${imp.stderr}`);
      }
    }
    const plan = await ws.run("plan", "-detailed-exitcode");
    if (plan.code !== 0) {
      throw new Error(`the plan after import is not empty:\n${plan.stdout}${plan.stderr}`);
    }
  } finally {
    ws.cleanup();
  }
}
