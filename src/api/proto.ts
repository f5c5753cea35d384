// gRPC service definitions from the descriptors embedded at codegen time. Each proto
// package is parsed on first use only: start-up time matters for the CLI and the
// provider, which Terraform launches several times per command.
import * as protoLoader from "@grpc/proto-loader";
import * as grpc from "@grpc/grpc-js";
import { descriptors, servicePackages } from "./gen/descriptor.ts";

/** The decoding rules the generated types in gen/<package>.ts assume. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const loaded = new Map<string, grpc.GrpcObject>();

function grpcObject(pkg: keyof typeof descriptors): grpc.GrpcObject {
  let obj = loaded.get(pkg);
  if (!obj) {
    // deno-lint-ignore no-explicit-any
    const def = protoLoader.fromJSON(descriptors[pkg] as any, PROTO_LOADER_OPTIONS);
    obj = grpc.loadPackageDefinition(def);
    loaded.set(pkg, obj);
  }
  return obj;
}

/** Looks up a service constructor by its full name, e.g. "infrasim.v1.VmService". */
export function serviceClient(fullName: string): grpc.ServiceClientConstructor {
  const pkg = servicePackages[fullName];
  if (!pkg) throw new Error(`unknown service ${fullName}`);
  // deno-lint-ignore no-explicit-any
  let cur: any = grpcObject(pkg);
  for (const part of fullName.split(".")) cur = cur[part];
  return cur as grpc.ServiceClientConstructor;
}

/** The full names of the services a package defines, from the embedded descriptors. */
export function servicesOf(pkg: keyof typeof descriptors): string[] {
  return Object.keys(servicePackages).filter((s) => servicePackages[s] === pkg);
}
