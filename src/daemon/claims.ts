// Shared claims: object names per kind, forwarded host ports, and (through
// controllers/vm_interfaces.ts) addresses on private networks. All of them are taken
// under one lock (after the object's own), so concurrent creates and updates can never
// collide.
import type * as T from "../api/gen/infrasim.v1.ts";
import { fieldError, invalid, quote, Status } from "../api/errors.ts";
import type { ObjectStore } from "../store/objects.ts";
import type { KeyedMutex } from "./locks.ts";
import { aKind } from "./controllers/common.ts";
import { pickPort, portFree } from "./ports.ts";

const CLAIMS_KEY = "__claims__";

export class Claims {
  constructor(
    private readonly locks: KeyedMutex,
    private readonly range: { range_start: number; range_end: number },
    /** The name of the VM holding a host port, if any. */
    private readonly portOwner: (protocol: string, port: number) => string | undefined,
  ) {}

  run<R>(fn: () => Promise<R> | R): Promise<R> {
    return this.locks.run(CLAIMS_KEY, async () => await fn());
  }

  /** ALREADY_EXISTS naming the field, with what the user can do about it. */
  assertNameFree(store: ObjectStore<unknown, unknown>, kind: string, name: string): void {
    if (!store.getByName(name)) return;
    throw fieldError(
      Status.ALREADY_EXISTS,
      "meta.name",
      `${aKind(kind)} named ${quote(name)} already exists; choose another name, or ` +
        `delete it first (infrasim ${kind.toLowerCase()} delete ${name})`,
    );
  }

  /**
   * Resolves port forwards to host ports: keeps ports already held for the same
   * guest port, allocates where host_port is 0, and refuses ports held by others.
   */
  async allocatePorts(forwards: T.PortForward[], held: T.PortForward[]): Promise<T.PortForward[]> {
    const chosen: T.PortForward[] = [];
    const mine = new Set(held.map((p) => `${p.protocol}/${p.host_port}`));
    for (const [i, p] of forwards.entries()) {
      const field = `spec.network.port_forwards[${i}].host_port`;
      if (p.host_port) {
        const own = mine.has(`${p.protocol}/${p.host_port}`);
        const owner = this.portOwner(p.protocol, p.host_port);
        if (owner !== undefined && !own) {
          throw invalid(field, `port ${p.host_port} is already forwarded by VM ${quote(owner)}`);
        }
        if (!own && !(await portFree(p.protocol, p.host_port))) {
          throw invalid(field, `port ${p.host_port} is in use on 127.0.0.1`);
        }
        chosen.push({ ...p });
        continue;
      }
      const prev = held.find((h) => h.protocol === p.protocol && h.guest_port === p.guest_port);
      if (prev) {
        chosen.push({ ...p, host_port: prev.host_port });
        continue;
      }
      const taken = (port: number) =>
        chosen.some((c) => c.protocol === p.protocol && c.host_port === port) ||
        forwards.some((f) => f.protocol === p.protocol && f.host_port === port) ||
        this.portOwner(p.protocol, port) !== undefined;
      const port = await pickPort(
        p.protocol,
        this.range.range_start,
        this.range.range_end,
        taken,
      );
      if (port === undefined) {
        throw fieldError(Status.RESOURCE_EXHAUSTED, field, "no free port in the configured range");
      }
      chosen.push({ ...p, host_port: port });
    }
    return chosen;
  }
}
