// gRPC reflection through a generic reflection client (grpc-js-reflection-client, as
// grpcurl and Postman use the same protocol): it lists infrasim.v1's services, describes
// a message, and calls the API with nothing but what reflection told it. On TCP it needs
// the daemon's token like every other call.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { GrpcReflection } from "grpc-js-reflection-client";
import { e2eTest } from "../helpers/env.ts";

/**
 * Closes a reflection client's channel. Left open, the daemon's GOAWAY at the test's end
 * can trip an assertion in the nghttp2 of Deno's http2 (seen once: the runner aborted).
 */
const closeReflection = (r: GrpcReflection) =>
  (r as unknown as { client: grpc.Client }).client.close();

const SERVICES = [
  "infrasim.v1.VmService",
  "infrasim.v1.ImageService",
  "infrasim.v1.VolumeService",
  "infrasim.v1.NetworkService",
  "infrasim.v1.WatchService",
  "infrasim.v1.DaemonService",
];

e2eTest(
  "reflection: a generic client lists the services, describes a message, calls the API",
  async (d) => {
    const r = new GrpcReflection(`unix:${d.socket}`, grpc.credentials.createInsecure());
    try {
      await describeAndCall(d, r);
    } finally {
      closeReflection(r);
    }
  },
);

async function describeAndCall(d: { socket: string; dataDir: string }, r: GrpcReflection) {
  const services = await r.listServices();
  for (const s of SERVICES) assert.ok(services.includes(s), `${s} in ${services.join(", ")}`);
  assert.ok(services.includes("grpc.health.v1.Health"));

  const desc = await r.getDescriptorBySymbol("infrasim.v1.VmSpec");
  const spec = desc.getProtobufJsRoot().lookupType("infrasim.v1.VmSpec");
  assert.equal(spec.fields.memory_mb.type, "int32");
  assert.equal(spec.fields.network_interfaces.repeated, true);
  // The status details' message is described too (the field violations of a bad request).
  const bad = (await r.getDescriptorBySymbol("google.rpc.BadRequest")).getProtobufJsRoot()
    .lookupType("google.rpc.BadRequest.FieldViolation");
  assert.deepEqual(Object.keys(bad.fields), ["field", "description"]);

  // A call made only from the reflected descriptor.
  const pkg = (await r.getDescriptorBySymbol("infrasim.v1.DaemonService")).getPackageObject({
    keepCase: true,
    longs: Number,
  }) as unknown as { infrasim: { v1: { DaemonService: grpc.ServiceClientConstructor } } };
  const client = new pkg.infrasim.v1.DaemonService(
    `unix:${d.socket}`,
    grpc.credentials.createInsecure(),
  );
  const st = await new Promise<{ pid: number; data_dir: string }>((resolve, reject) =>
    (client as unknown as Record<string, (...a: unknown[]) => void>).GetDaemonStatus(
      {},
      (e: Error | null, res: { pid: number; data_dir: string }) => (e ? reject(e) : resolve(res)),
    )
  );
  client.close();
  assert.equal(st.data_dir, d.dataDir);
  assert.ok(st.pid > 0);
}

e2eTest("reflection: on TCP it is refused without the token, and served with it", async (d) => {
  const address = `127.0.0.1:${d.tcpPort}`;
  const anon = new GrpcReflection(address, grpc.credentials.createInsecure());
  const ok = new GrpcReflection(address, grpc.credentials.createInsecure());
  try {
    // The client wraps the gRPC error; its message carries the status and the daemon's words.
    await assert.rejects(
      anon.listServices(),
      /16 UNAUTHENTICATED: this TCP listener needs infrasimd's token/,
    );
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${d.token}`);
    assert.ok((await ok.listServices(undefined, md)).includes("infrasim.v1.VmService"));
  } finally {
    closeReflection(anon);
    closeReflection(ok);
  }
});
