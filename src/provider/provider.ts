// The tfplugin6.Provider service: schemas, validation, configure, and dispatch of
// resource and data source calls. RPCs not listed here are answered UNIMPLEMENTED
// by grpc-js itself.
import type * as T from "../api/gen/types.ts";
import { InfrasimClient, toGrpcTarget } from "../api/client.ts";
import { ApiError } from "../api/errors.ts";
import { type CtyValue, decodeValue, encodeValue, isUnknown } from "./cty.ts";
import { diag, errorDiag } from "./diagnostics.ts";
import { type BlockDef, nullObject, toProtoSchema } from "./schema.ts";
import {
  applyVm,
  importVm,
  planVm,
  readVm,
  validateVmConfig,
  VM_FIELDS,
  VM_SCHEMA,
} from "./vm_resource.ts";
import { DAEMON_DATA_SCHEMA, readDaemonData, readVmData, VM_DATA_SCHEMA } from "./data_sources.ts";
import { plog } from "./log.ts";

type Obj = Record<string, CtyValue>;

const PROVIDER_SCHEMA: BlockDef = {
  description: "Runs QEMU virtual machines through infrasimd.",
  attributes: [{
    name: "daemon_address",
    type: "string",
    optional: true,
    description: "infrasimd address: `unix:///path`, `/path` or `http://127.0.0.1:50051`. " +
      "Defaults to $INFRASIM_DAEMON_ADDRESS, else the local unix socket in ~/.infrasim.",
  }],
};

const RESOURCES: Record<string, BlockDef> = { infrasim_vm: VM_SCHEMA };
const DATA_SOURCES: Record<string, BlockDef> = {
  infrasim_vm: VM_DATA_SCHEMA,
  infrasim_daemon: DAEMON_DATA_SCHEMA,
};

const CAPABILITIES: T.ServerCapabilities = {
  plan_destroy: false,
  get_provider_schema_optional: true,
  move_resource_state: false,
};

const dv = (v: CtyValue): T.DynamicValue =>
  ({ msgpack: encodeValue(v), json: new Uint8Array() }) as T.DynamicValue;
const obj = (d: T.DynamicValue | null | undefined): Obj | null =>
  decodeValue(d?.msgpack) as Obj | null;

export class Provider {
  #client?: InfrasimClient;
  #address?: string;
  /** Set by StopProvider: in-flight and later calls end at once. */
  #stopped = false;

  get client(): InfrasimClient {
    if (this.#stopped) throw new Error("the provider was stopped");
    return (this.#client ??= new InfrasimClient(this.#address));
  }

  getProviderSchema(): Partial<T.GetProviderSchema_Response> {
    const map = (m: Record<string, BlockDef>) =>
      Object.fromEntries(Object.entries(m).map(([k, b]) => [k, toProtoSchema(b)]));
    return {
      provider: toProtoSchema(PROVIDER_SCHEMA) as T.Schema,
      resource_schemas: map(RESOURCES) as Record<string, T.Schema>,
      data_source_schemas: map(DATA_SOURCES) as Record<string, T.Schema>,
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

  validateProviderConfig(req: T.ValidateProviderConfig_Request) {
    const c = obj(req.config) ?? {};
    const addr = c.daemon_address;
    if (typeof addr === "string") {
      try {
        toGrpcTarget(addr);
      } catch (e) {
        return {
          diagnostics: [diag("Invalid daemon_address", (e as Error).message, ["daemon_address"])],
        };
      }
    }
    return { diagnostics: [] };
  }

  async configureProvider(req: T.ConfigureProvider_Request) {
    const c = obj(req.config) ?? {};
    // An unknown address (from another resource) is settled later; use the default now.
    this.#address = typeof c.daemon_address === "string" && c.daemon_address !== ""
      ? c.daemon_address
      : undefined;
    this.#client?.close();
    this.#client = undefined;
    try {
      await this.client.health("", { timeoutSeconds: 5 });
    } catch (e) {
      const msg = e instanceof ApiError ? e.message : (e as Error).message;
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
    this.#client?.close();
    return { Error: "" };
  }

  validateResourceConfig(req: T.ValidateResourceConfig_Request) {
    if (!RESOURCES[req.type_name]) return { diagnostics: [unknownType(req.type_name)] };
    return { diagnostics: validateVmConfig(obj(req.config) ?? {}) };
  }

  validateDataResourceConfig(req: T.ValidateDataResourceConfig_Request) {
    if (!DATA_SOURCES[req.type_name]) return { diagnostics: [unknownType(req.type_name)] };
    const c = obj(req.config) ?? {};
    if (req.type_name === "infrasim_vm" && c.name === null && c.id === null) {
      return { diagnostics: [diag("Missing name or id", "set name or id", ["name"])] };
    }
    return { diagnostics: [] };
  }

  upgradeResourceState(req: T.UpgradeResourceState_Request) {
    const schema = RESOURCES[req.type_name];
    if (!schema) return { diagnostics: [unknownType(req.type_name)] };
    // Version 0 is the only one: fill attributes older states lack, drop unknown ones.
    const raw = JSON.parse(
      new TextDecoder().decode(req.raw_state?.json ?? new Uint8Array()) || "{}",
    );
    const base = nullObject(schema);
    const upgraded = Object.fromEntries(
      Object.keys(base).map((k) => [k, raw[k] === undefined ? base[k] : raw[k]]),
    );
    return { upgraded_state: dv(upgraded), diagnostics: [] };
  }

  async readResource(req: T.ReadResource_Request) {
    const current = obj(req.current_state);
    if (!current) return { new_state: req.current_state, diagnostics: [], private: req.private };
    try {
      const next = await readVm(this.client, current);
      return { new_state: dv(next), diagnostics: [], private: req.private };
    } catch (e) {
      return {
        new_state: req.current_state,
        diagnostics: [errorDiag(e, "Cannot read VM")],
        private: req.private,
      };
    }
  }

  planResourceChange(req: T.PlanResourceChange_Request) {
    const proposed = obj(req.proposed_new_state);
    if (proposed === null) {
      return { planned_state: req.proposed_new_state, requires_replace: [], diagnostics: [] };
    }
    const { planned, replace } = planVm(obj(req.prior_state), proposed, obj(req.config) ?? {});
    return {
      planned_state: dv(planned),
      requires_replace: replace.map((p) => ({
        steps: p.map((s) => ({ attribute_name: String(s) })),
      })),
      planned_private: req.prior_private,
      diagnostics: [],
    };
  }

  async applyResourceChange(req: T.ApplyResourceChange_Request) {
    const r = await applyVm(this.client, obj(req.prior_state), obj(req.planned_state));
    return { new_state: dv(r.state), diagnostics: r.diagnostics, private: req.planned_private };
  }

  async importResourceState(req: T.ImportResourceState_Request) {
    try {
      const state = await importVm(this.client, req.id);
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
        diagnostics: [errorDiag(e, `Cannot import VM ${JSON.stringify(req.id)}`, VM_FIELDS)],
      };
    }
  }

  async readDataSource(req: T.ReadDataSource_Request) {
    const c = obj(req.config) ?? {};
    try {
      const state = req.type_name === "infrasim_daemon"
        ? await readDaemonData(this.client)
        : await readVmData(this.client, c);
      return { state: dv(state), diagnostics: [] };
    } catch (e) {
      return { state: req.config, diagnostics: [errorDiag(e, `Cannot read ${req.type_name}`)] };
    }
  }
}

function unknownType(name: string): T.Diagnostic {
  return diag("Unknown type", `this provider has no ${JSON.stringify(name)}`);
}
