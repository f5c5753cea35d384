// The gRPC package definition, built from the descriptor embedded at codegen time.
import * as protoLoader from "@grpc/proto-loader";
import * as grpc from "@grpc/grpc-js";
import { descriptorJson } from "./gen/descriptor.ts";

/** The decoding rules the generated types in gen/types.ts assume. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: grpc.GrpcObject | undefined;

/** Loads the package definition once per process (it costs a few ms). */
export function grpcObject(): grpc.GrpcObject {
  if (!cached) {
    // deno-lint-ignore no-explicit-any
    const def = protoLoader.fromJSON(descriptorJson as any, PROTO_LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def);
  }
  return cached;
}

/** Looks up a service constructor by its full name, e.g. "infrasim.v1.VmService". */
export function serviceClient(fullName: string): grpc.ServiceClientConstructor {
  // deno-lint-ignore no-explicit-any
  let cur: any = grpcObject();
  for (const part of fullName.split(".")) cur = cur[part];
  if (!cur?.service) throw new Error(`unknown service ${fullName}`);
  return cur as grpc.ServiceClientConstructor;
}
