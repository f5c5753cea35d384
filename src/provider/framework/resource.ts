// What a resource or data source is to the provider: one object per type, listed in
// the registry. Shared behaviour (defaults, forceNew, unknown computed values,
// timeouts, diagnostics on attribute paths) lives in this framework, not in resources.
import type * as P from "../../api/gen/tfplugin6.ts";
import type { InfrasimClient } from "../../api/client.ts";
import type { CtyValue } from "./cty.ts";
import type { BlockDef } from "./schema.ts";

export type Obj = Record<string, CtyValue>;

export interface ApplyResult {
  /** The new state; on a failed create, the partial state (Terraform taints it), or null. */
  state: Obj | null;
  diagnostics: P.Diagnostic[];
}

export interface PlanContext {
  prior: Obj | null;
  config: Obj;
  /** True when the plan replaces the object (a forceNew attribute changed). */
  replacing: boolean;
  /** Plan-time errors (a change the resource cannot make), reported on their attribute. */
  diagnostics: P.Diagnostic[];
}

export interface Resource {
  typeName: string;
  schema: BlockDef;
  /** Checks beyond the schema; unknown values must be skipped. */
  validate?(config: Obj): Promise<P.Diagnostic[]> | P.Diagnostic[];
  /** Values derived from others (before replacement is decided), e.g. a default from arch. */
  derivePlan?(planned: Obj, prior: Obj | null): void;
  /** Resource-specific planning after defaults and computed values are settled. */
  modifyPlan?(planned: Obj, ctx: PlanContext): void;
  create(client: InfrasimClient, planned: Obj): Promise<ApplyResult>;
  update(client: InfrasimClient, prior: Obj, planned: Obj): Promise<ApplyResult>;
  delete(client: InfrasimClient, prior: Obj): Promise<ApplyResult>;
  /** The current object, or null when it is gone (Terraform then plans a create). */
  read(client: InfrasimClient, current: Obj): Promise<Obj | null>;
  /** Import by id or name: the object as read would return it. */
  importState(client: InfrasimClient, ref: string): Promise<Obj>;
}

export interface DataSource {
  typeName: string;
  schema: BlockDef;
  validate?(config: Obj): P.Diagnostic[];
  read(client: InfrasimClient, config: Obj): Promise<Obj>;
}
