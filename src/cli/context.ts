// What every command group gets: the client (made on first use), the output format
// and printing to stdout.
import type { InfrasimClient } from "../api/client.ts";
import type { OutputFormat } from "./output.ts";

export interface Ctx {
  /** The client; the gRPC client modules are loaded on the first call only. */
  client(): Promise<InfrasimClient>;
  format(): OutputFormat;
  print(s: string): void;
}
