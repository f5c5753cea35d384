// gRPC service definitions from the descriptors embedded at codegen time. Each proto
// package is parsed on first use only: start-up time matters for the CLI and the
// provider, which Terraform launches several times per command. The definitions are
// built with protobufjs directly: @grpc/proto-loader also converts every message to
// a descriptor proto, which cost the CLI about 20 ms per run, import included; only the
// daemon's reflection service (daemon/reflection.ts) needs those, and loads it itself.
import protobuf from "protobufjs";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { descriptors, servicePackages } from "./gen/descriptor.ts";

/** The decoding rules the generated types in gen/<package>.ts assume (keepCase: the JSON keeps names). */
export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

const roots = new Map<string, protobuf.Root>();
const clients = new Map<string, grpc.ServiceClientConstructor>();

function root(pkg: keyof typeof descriptors): protobuf.Root {
  let r = roots.get(pkg);
  if (!r) {
    // deno-lint-ignore no-explicit-any
    r = protobuf.Root.fromJSON(descriptors[pkg] as any);
    roots.set(pkg, r);
  }
  return r;
}

const lowerFirst = (s: string) => s[0].toLowerCase() + s.slice(1);

/** Looks up a service constructor by its full name, e.g. "infrasim.v1.VmService". */
export function serviceClient(fullName: string): grpc.ServiceClientConstructor {
  const cached = clients.get(fullName);
  if (cached) return cached;
  const pkg = servicePackages[fullName];
  if (!pkg) throw new Error(`unknown service ${fullName}`);
  const svc = root(pkg).lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType!, res = m.resolvedResponseType!;
    const ser = (t: protobuf.Type) => (o: object) =>
      Buffer.from(t.encode(t.fromObject(o)).finish());
    const de = (t: protobuf.Type) => (b: Buffer) => t.toObject(t.decode(b), PROTO_LOADER_OPTIONS);
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: ser(req),
      requestDeserialize: de(req),
      responseSerialize: ser(res),
      responseDeserialize: de(res),
      originalName: lowerFirst(m.name),
    } as grpc.MethodDefinition<object, object>;
  }
  const ctor = grpc.makeGenericClientConstructor(def, svc.name);
  clients.set(fullName, ctor);
  return ctor;
}
