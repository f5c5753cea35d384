// gRPC server reflection (grpc.reflection.v1 and v1alpha, @grpc/reflection), so generic
// tools list the services and describe every message without the .proto files. Built
// from the descriptors embedded at codegen time, once per daemon start; loaded lazily so
// that nothing else pays for proto-loader.
import { descriptors } from "../api/gen/descriptor.ts";

type Json = { nested?: Record<string, Json> } & Record<string, unknown>;

/** One namespace tree out of several packages' (they share the top-level names). */
function merge(into: Json, from: Json): Json {
  for (const [k, v] of Object.entries(from.nested ?? {})) {
    into.nested ??= {};
    into.nested[k] = into.nested[k] ? merge(into.nested[k], v) : structuredClone(v);
  }
  return into;
}

/** The reflection service for these services, with every message they and status details use. */
export async function reflectionService(services: string[]) {
  const [protoLoader, { ReflectionService }] = await Promise.all([
    import("@grpc/proto-loader"),
    import("@grpc/reflection"),
  ]);
  const tree = [
    descriptors["infrasim.v1"],
    descriptors["grpc.health.v1"],
    descriptors["google.rpc"],
  ].reduce((acc, d) => merge(acc, d as unknown as Json), {} as Json);
  const definition = protoLoader.fromJSON(tree, { keepCase: true });
  return new ReflectionService(definition, { services: [...new Set(services)] });
}
