// Code generation for RPCs, beside the types (tasks/codegen.ts): per service, the glue a
// server implements (a typed handler per method and the method kinds), and per API
// package a typed client class with one method per RPC. Nothing here is hand-written
// per method: a new RPC in proto/ is a new method on both sides after codegen.
import protobuf from "protobufjs";

const lowerFirst = (s: string) => s[0].toLowerCase() + s.slice(1);

function kind(m: protobuf.Method): string {
  if (m.requestStream && m.responseStream) return "duplex";
  if (m.responseStream) return "serverStream";
  if (m.requestStream) return "clientStream";
  return "unary";
}

const HANDLER: Record<string, string> = {
  unary: "UnaryHandler",
  serverStream: "ServerStreamHandler",
  clientStream: "ClientStreamHandler",
  duplex: "DuplexHandler",
};

/** The service glue, appended to the package's types module. */
export function serviceGlue(
  svc: protobuf.Service,
  typeRef: (t: protobuf.Type) => string,
): string[] {
  const out: string[] = [];
  out.push(
    `/** What a server of ${svc.fullName.slice(1)} implements, one typed handler per RPC. */`,
  );
  out.push(`export interface ${svc.name}Handlers {`);
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = typeRef(m.resolvedRequestType!), res = typeRef(m.resolvedResponseType!);
    out.push(`  ${m.name}: rpc.${HANDLER[kind(m)]}<${req}, ${res}>;`);
  }
  out.push("}");
  out.push(`export const ${svc.name}Shape = {`);
  for (const m of svc.methodsArray) out.push(`  ${m.name}: "${kind(m)}",`);
  out.push("} as const satisfies Record<string, rpc.RpcKind>;");
  return out;
}

/** A typed client class for every service of a package (types imported as T). */
export function clientModule(
  header: string,
  pkg: string,
  services: protobuf.Service[],
  className: string,
): string {
  const lines = [
    header,
    `import type * as grpc from "@grpc/grpc-js";`,
    `import type { CallOptions, DeepPartial, Transport } from "../rpc_types.ts";`,
    `import type * as T from "./${pkg}.ts";`,
    "",
    `/**`,
    ` * Every RPC of ${pkg} as a typed method: unary ones return the response, streaming ones`,
    ` * the call (<name>Stream). A request with a \`ref\` field may be given as the ref alone.`,
    ` */`,
    `export abstract class ${className} {`,
    `  protected abstract readonly transport: Transport;`,
  ];
  for (const svc of services) {
    const full = svc.fullName.slice(1);
    for (const m of svc.methodsArray) {
      m.resolve();
      const req = `T.${m.resolvedRequestType!.name}`;
      const res = `T.${m.resolvedResponseType!.name}`;
      const fields = m.resolvedRequestType!.fieldsArray;
      // A ref alone names the object when nothing else but flags or optional strings is
      // asked (GetVm, DeleteVm, StartVm).
      const byRef = fields.some((f) => f.name === "ref") &&
        fields.every((f) => f.name === "ref" || f.type === "bool" || f.type === "string");
      const empty = fields.length === 0;
      const name = lowerFirst(m.name);
      const reqType = `${byRef ? "string | " : ""}DeepPartial<${req}>`;
      const reqArg = empty ? `req: DeepPartial<${req}> = {}` : `req: ${reqType}`;
      const reqValue = byRef ? `typeof req === "string" ? { ref: req } : req` : "req";
      lines.push(`  /** ${full}.${m.name} */`);
      switch (kind(m)) {
        case "unary":
          lines.push(`  ${name}(${reqArg}, o?: CallOptions): Promise<${res}> {`);
          lines.push(`    return this.transport.unary("${full}", "${m.name}", ${reqValue}, o);`);
          break;
        case "serverStream":
          lines.push(`  ${name}Stream(${reqArg}): grpc.ClientReadableStream<${res}> {`);
          lines.push(
            `    return this.transport.serverStream("${full}", "${m.name}", ${reqValue});`,
          );
          break;
        case "duplex":
          lines.push(
            `  ${name}Stream(): grpc.ClientDuplexStream<DeepPartial<${req}>, ${res}> {`,
          );
          lines.push(`    return this.transport.duplex("${full}", "${m.name}");`);
          break;
        default:
          throw new Error(`${full}.${m.name}: client streaming is not generated`);
      }
      lines.push("  }");
    }
  }
  lines.push("}", "");
  return lines.join("\n");
}
