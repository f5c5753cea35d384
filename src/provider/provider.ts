// The tfplugin6.Provider service: schemas, validation, configure, and dispatch of
// resource and data source calls through the registry. RPCs not listed here are
// answered UNIMPLEMENTED by grpc-js itself.
import type * as P from "../api/gen/tfplugin6.ts";
import { daemonTarget, defaultAddress, InfrasimClient } from "../api/client.ts";
import { ApiError, Status } from "../api/errors.ts";
import { type CtyValue, decodeValue, encodeValue, isUnknown } from "./framework/cty.ts";
import { diag, errorDiags } from "./framework/diagnostics.ts";
import { planResource } from "./framework/plan.ts";
import type { Obj } from "./framework/resource.ts";
import { type BlockDef, nullObject, toProtoSchema } from "./framework/schema.ts";
import { validateTimeouts } from "./framework/timeouts.ts";
import { DATA_SOURCES, RESOURCES } from "./registry.ts";
import { plog } from "./log.ts";

const PROVIDER_SCHEMA: BlockDef = {
  description: "Runs QEMU virtual machines through infrasimd.",
  attributes: [{
    name: "daemon_address",
    type: "string",
    optional: true,
    description: "infrasimd address on this machine: `unix:///path`, `/path` or " +
      "`http://127.0.0.1:50051`. Defaults to $INFRASIM_DAEMON_ADDRESS, else the local unix " +
      "socket in ~/.infrasim.",
  }, {
    name: "token",
    type: "string",
    optional: true,
    sensitive: true,
    description: "The daemon's token, needed over TCP. Defaults to $INFRASIM_TOKEN, else the " +
      "`token` file in the data dir (readable when Terraform runs as the daemon's user).",
  }],
};

const CAPABILITIES: P.ServerCapabilities = {
  plan_destroy: false,
  get_provider_schema_optional: true,
  move_resource_state: false,
};

const dv = (v: CtyValue): P.DynamicValue =>
  ({ msgpack: encodeValue(v), json: new Uint8Array() }) as P.DynamicValue;
const obj = (d: P.DynamicValue | null | undefined): Obj | null =>
  decodeValue(d?.msgpack) as Obj | null;

/** Why a daemon_address cannot be used, or undefined. */
function addressProblem(address: string): string | undefined {
  try {
    daemonTarget(address);
  } catch (e) {
    return (e as Error).message.replace(/^daemon_address: (".*?": )?/, "");
  }
  return undefined;
}

export class Provider {
  #client?: InfrasimClient;
  #address?: string;
  #token?: string;
  /** Set by StopProvider: no new calls start; those in flight finish. */
  #stopped = false;
  #inFlight = 0;

  get client(): InfrasimClient {
    if (this.#stopped) throw new Error("the provider was stopped");
    return (this.#client ??= new InfrasimClient(this.#address, { token: this.#token }));
  }

  /** After StopProvider, new operations are refused with a diagnostic, not a crash. */
  #stoppedDiag(): { diagnostics: P.Diagnostic[] } | undefined {
    if (!this.#stopped) return undefined;
    return {
      diagnostics: [
        diag("The provider is stopping", "Terraform was interrupted; nothing was done"),
      ],
    };
  }

  /** Runs a daemon operation; the client is closed after the last one once stopped. */
  async #run<R>(fn: (c: InfrasimClient) => Promise<R>): Promise<R> {
    const c = this.client;
    this.#inFlight++;
    try {
      return await fn(c);
    } finally {
      if (--this.#inFlight === 0 && this.#stopped) this.#client?.close();
    }
  }

  getProviderSchema(): Partial<P.GetProviderSchema_Response> {
    const map = (m: Record<string, { schema: BlockDef }>) =>
      Object.fromEntries(Object.entries(m).map(([k, r]) => [k, toProtoSchema(r.schema)]));
    return {
      provider: toProtoSchema(PROVIDER_SCHEMA) as P.Schema,
      resource_schemas: map(RESOURCES) as Record<string, P.Schema>,
      data_source_schemas: map(DATA_SOURCES) as Record<string, P.Schema>,
      diagnostics: [],
      server_capabilities: CAPABILITIES,
    };
  }

  getMetadata(): unknown {
    return {
      server_capabilities: CAPABILITIES,
      diagnostics: [],
      resources: Object.keys(RESOURCES).map((type_name) => ({ type_name })),
      data_sources: Object.keys(DATA_SOURCES).map((type_name) => ({ type_name })),
      functions: [],
      ephemeral_resources: [],
    };
  }

  validateProviderConfig(req: P.ValidateProviderConfig_Request) {
    const addr = (obj(req.config) ?? {}).daemon_address;
    const problem = typeof addr === "string" && addr !== "" ? addressProblem(addr) : undefined;
    return {
      diagnostics: problem ? [diag("Invalid daemon_address", problem, ["daemon_address"])] : [],
    };
  }

  async configureProvider(req: P.ConfigureProvider_Request) {
    const c = obj(req.config) ?? {};
    // An unknown address (from another resource) is settled later; use the default now.
    this.#address = typeof c.daemon_address === "string" && c.daemon_address !== ""
      ? c.daemon_address
      : undefined;
    this.#token = typeof c.token === "string" && c.token !== "" ? c.token : undefined;
    const problem = addressProblem(this.#address ?? defaultAddress());
    if (problem) {
      // Without the attribute, the address came from $INFRASIM_DAEMON_ADDRESS.
      const what = this.#address ? problem : `INFRASIM_DAEMON_ADDRESS: ${problem}`;
      const where = this.#address ? ["daemon_address"] : undefined;
      return { diagnostics: [diag("Invalid daemon_address", what, where)] };
    }
    this.#client?.close();
    this.#client = undefined;
    try {
      await this.client.getDaemonStatus({}, { timeoutSeconds: 5 });
    } catch (e) {
      const msg = e instanceof ApiError ? e.message : (e as Error).message;
      if (e instanceof ApiError && e.code === Status.UNAUTHENTICATED) {
        return {
          diagnostics: [diag(
            "infrasimd refused the provider's token",
            `UNAUTHENTICATED: ${msg}\n\nSet the provider's token (a sensitive variable) or ` +
              "INFRASIM_TOKEN to the contents of the daemon's <data_dir>/token.",
            ["token"],
          )],
        };
      }
      return {
        diagnostics: [diag(
          "Cannot reach infrasimd",
          `${msg}\n\nStart the daemon with \`infrasimd\` (or set daemon_address).`,
          isUnknown(c.daemon_address) || c.daemon_address == null ? undefined : ["daemon_address"],
        )],
      };
    }
    plog.debug("configured", { address: this.client.address, terraform: req.terraform_version });
    return { diagnostics: [] };
  }

  stop() {
    this.#stopped = true;
    if (this.#inFlight === 0) this.#client?.close();
    return { Error: "" };
  }

  async validateResourceConfig(req: P.ValidateResourceConfig_Request) {
    const r = RESOURCES[req.type_name];
    if (!r) return { diagnostics: [unknownType(req.type_name)] };
    const config = obj(req.config) ?? {};
    const out = [...(await r.validate?.(config) ?? []), ...validateTimeouts(config)];
    // Several checks can report the same attribute; keep the first.
    const seen = new Set<string>();
    return {
      diagnostics: out.filter((d) => {
        const key = JSON.stringify(d.attribute);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      }),
    };
  }

  validateDataResourceConfig(req: P.ValidateDataResourceConfig_Request) {
    const d = DATA_SOURCES[req.type_name];
    if (!d) return { diagnostics: [unknownType(req.type_name)] };
    return { diagnostics: d.validate?.(obj(req.config) ?? {}) ?? [] };
  }

  upgradeResourceState(req: P.UpgradeResourceState_Request) {
    const r = RESOURCES[req.type_name];
    if (!r) return { diagnostics: [unknownType(req.type_name)] };
    // Version 0 is the only one: fill attributes older states lack, drop unknown ones.
    const raw = JSON.parse(
      new TextDecoder().decode(req.raw_state?.json ?? new Uint8Array()) || "{}",
    );
    const base = nullObject(r.schema);
    const upgraded = Object.fromEntries(
      Object.keys(base).map((k) => [k, raw[k] === undefined ? base[k] : raw[k]]),
    );
    return { upgraded_state: dv(upgraded), diagnostics: [] };
  }

  async readResource(req: P.ReadResource_Request) {
    const stopped = this.#stoppedDiag();
    if (stopped) return { ...stopped, new_state: req.current_state, private: req.private };
    const r = RESOURCES[req.type_name];
    const current = obj(req.current_state);
    if (!r || !current) {
      return { new_state: req.current_state, diagnostics: [], private: req.private };
    }
    try {
      const next = await this.#run((c) => r.read(c, current));
      return { new_state: dv(next), diagnostics: [], private: req.private };
    } catch (e) {
      return {
        new_state: req.current_state,
        diagnostics: errorDiags(e, `Cannot read ${req.type_name}`),
        private: req.private,
      };
    }
  }

  planResourceChange(req: P.PlanResourceChange_Request) {
    const r = RESOURCES[req.type_name];
    const proposed = obj(req.proposed_new_state);
    if (!r) return { diagnostics: [unknownType(req.type_name)] };
    if (proposed === null) {
      return { planned_state: req.proposed_new_state, requires_replace: [], diagnostics: [] };
    }
    const { planned, replace, diagnostics } = planResource(
      r,
      obj(req.prior_state),
      proposed,
      obj(req.config) ?? {},
    );
    return {
      planned_state: dv(planned),
      requires_replace: replace.map((p) => ({
        steps: p.map((s) => ({ attribute_name: String(s) })),
      })),
      planned_private: req.prior_private,
      diagnostics,
    };
  }

  async applyResourceChange(req: P.ApplyResourceChange_Request) {
    const stopped = this.#stoppedDiag();
    if (stopped) return { ...stopped, new_state: req.prior_state, private: req.planned_private };
    const r = RESOURCES[req.type_name];
    if (!r) return { diagnostics: [unknownType(req.type_name)] };
    const prior = obj(req.prior_state);
    const planned = obj(req.planned_state);
    const res = await this.#run((c) =>
      planned === null
        ? r.delete(c, prior!)
        : prior === null
        ? r.create(c, planned)
        : r.update(c, prior, planned)
    );
    return { new_state: dv(res.state), diagnostics: res.diagnostics, private: req.planned_private };
  }

  async importResourceState(req: P.ImportResourceState_Request) {
    const stopped = this.#stoppedDiag();
    if (stopped) return { ...stopped, imported_resources: [] };
    const r = RESOURCES[req.type_name];
    if (!r) return { imported_resources: [], diagnostics: [unknownType(req.type_name)] };
    try {
      const state = await this.#run((c) => r.importState(c, req.id));
      return {
        imported_resources: [{
          type_name: req.type_name,
          state: dv(state),
          private: new Uint8Array(),
        }],
        diagnostics: [],
      };
    } catch (e) {
      return {
        imported_resources: [],
        diagnostics: errorDiags(
          e,
          `Cannot import ${req.type_name} ${JSON.stringify(req.id)}`,
          r.schema,
        ),
      };
    }
  }

  async readDataSource(req: P.ReadDataSource_Request) {
    const stopped = this.#stoppedDiag();
    if (stopped) return { ...stopped, state: req.config };
    const d = DATA_SOURCES[req.type_name];
    if (!d) return { diagnostics: [unknownType(req.type_name)] };
    try {
      const state = await this.#run((c) => d.read(c, obj(req.config) ?? {}));
      return { state: dv(state), diagnostics: [] };
    } catch (e) {
      return { state: req.config, diagnostics: errorDiags(e, `Cannot read ${req.type_name}`) };
    }
  }
}

function unknownType(name: string): P.Diagnostic {
  return diag("Unknown type", `this provider has no ${JSON.stringify(name)}`);
}
