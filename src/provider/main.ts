// terraform-provider-infrasim: the go-plugin handshake with AutoMTLS, then the
// tfplugin6.Provider, plugin.GRPCController and grpc.health.v1 services.
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceClient } from "../api/proto.ts";
import { unaryHandler } from "../api/unary.ts";
import { VERSION } from "../version.ts";
import { Provider } from "./provider.ts";
import { serverCert } from "./server_cert.ts";
import { plog } from "./log.ts";

export const MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE";
export const MAGIC_COOKIE_VALUE =
  "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

type Handler = (req: never) => unknown;

/** Provider failures are diagnostics; an exception here is a bug, reported as INTERNAL. */
function unary(name: string, fn: Handler): grpc.handleUnaryCall<unknown, unknown> {
  return unaryHandler(fn as (req: unknown) => unknown, {
    done: (ms) => plog.trace("rpc", { method: name, ms }),
    fail: (e) => {
      plog.error("rpc failed", { method: name, error: (e as Error)?.stack ?? String(e) });
      return { code: grpc.status.INTERNAL, details: (e as Error)?.message ?? String(e) };
    },
  });
}

export async function runProvider(argv: string[]): Promise<number> {
  if (argv.includes("--version") || argv.includes("-V")) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (process.env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    process.stderr.write(
      "This binary is a plugin. These are not meant to be executed directly.\n" +
        "Please execute the program that consumes these plugins, which will\n" +
        "load any plugins automatically\n",
    );
    return 1;
  }
  const versions = (process.env.PLUGIN_PROTOCOL_VERSIONS ?? "").split(",").map((v) => v.trim());
  if (!versions.includes("6")) {
    process.stderr.write(
      `terraform-provider-infrasim speaks plugin protocol 6; offered: ${
        versions.join(",") || "none"
      }\n`,
    );
    return 1;
  }
  // A second Ctrl-C reaches plugins too; Terraform itself decides when we stop.
  process.on("SIGINT", () => {});

  const provider = new Provider();
  const server = new grpc.Server();
  const p = provider;
  server.addService(serviceClient("tfplugin6.Provider").service, {
    GetMetadata: unary("GetMetadata", () => p.getMetadata()),
    GetProviderSchema: unary("GetProviderSchema", () => p.getProviderSchema()),
    ValidateProviderConfig: unary("ValidateProviderConfig", (r) => p.validateProviderConfig(r)),
    ValidateResourceConfig: unary("ValidateResourceConfig", (r) => p.validateResourceConfig(r)),
    ValidateDataResourceConfig: unary(
      "ValidateDataResourceConfig",
      (r) => p.validateDataResourceConfig(r),
    ),
    UpgradeResourceState: unary("UpgradeResourceState", (r) => p.upgradeResourceState(r)),
    ConfigureProvider: unary("ConfigureProvider", (r) => p.configureProvider(r)),
    ReadResource: unary("ReadResource", (r) => p.readResource(r)),
    PlanResourceChange: unary("PlanResourceChange", (r) => p.planResourceChange(r)),
    ApplyResourceChange: unary("ApplyResourceChange", (r) => p.applyResourceChange(r)),
    ImportResourceState: unary("ImportResourceState", (r) => p.importResourceState(r)),
    ReadDataSource: unary("ReadDataSource", (r) => p.readDataSource(r)),
    StopProvider: unary("StopProvider", () => p.stop()),
  });

  const dir = mkdtempSync(join(tmpdir(), "tfp-infrasim-"));
  const socket = join(dir, "plugin.sock");
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    cleanup();
    server.forceShutdown();
    process.exit(0);
  };
  server.addService(serviceClient("plugin.GRPCController").service, {
    // Answer first, then exit well inside Terraform's 2 s grace period.
    Shutdown: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, {});
      setTimeout(exit, 10);
    },
  });
  server.addService(serviceClient("grpc.health.v1.Health").service, {
    Check: unary("Check", () => ({ status: "SERVING" })),
  });

  const clientCert = process.env.PLUGIN_CLIENT_CERT;
  let creds = grpc.ServerCredentials.createInsecure();
  let certB64 = "";
  if (clientCert) {
    const cert = await serverCert();
    certB64 = cert.certB64;
    // Require Terraform's client certificate and trust exactly that one.
    creds = grpc.ServerCredentials.createSsl(
      Buffer.from(clientCert),
      [{ private_key: Buffer.from(cert.keyPem), cert_chain: Buffer.from(cert.certPem) }],
      true,
    );
  }
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, creds, (err) => (err ? reject(err) : resolve()))
  );
  chmodSync(socket, 0o600);
  process.on("exit", cleanup);
  process.on("SIGTERM", exit);
  // Terraform killed without a Shutdown (a second Ctrl-C): an orphan exits too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) exit();
  }, 1000).unref();
  process.stdout.write(`1|6|unix|${socket}|grpc|${certB64}\n`);
  plog.debug("serving", { socket, version: VERSION });
  return await new Promise<number>(() => {}); // runs until Shutdown or a signal
}
