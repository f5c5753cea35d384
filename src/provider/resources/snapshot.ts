// The infrasim_snapshot resource: a snapshot of a VM, with its memory while it runs. A
// snapshot is taken once and never changed: every setting replaces it. Restoring is an
// action, not desired state, so it stays in the CLI and the API.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { InfrasimClient } from "../../api/client.ts";
import { normalizeSnapshotSpec } from "../../api/validate/snapshot.ts";
import type * as P from "../../api/gen/tfplugin6.ts";
import { isUnknown } from "../framework/cty.ts";
import { errorDiags } from "../framework/diagnostics.ts";
import type { ApplyResult, Obj, Resource } from "../framework/resource.ts";
import { deleteObject, labelsLike, metaChecks, readObject } from "../framework/crud.ts";
import { type BlockDef, nullObject } from "../framework/schema.ts";
import { computed, dataSourceFrom } from "../framework/data_source.ts";
import { TIMEOUTS_BLOCK, timeoutSeconds } from "../framework/timeouts.ts";
import { labelsOf, str } from "../framework/values.ts";

export const SNAPSHOT_SCHEMA: BlockDef = {
  description: "A snapshot of a VM: its writable disks and, while it runs, its memory. " +
    "Restore it with `infrasim snapshot restore`, or start the VM from it with " +
    "`infrasim vm start --from-snapshot`.",
  attributes: [
    computed("id", "string", "The snapshot's UUID."),
    {
      name: "name",
      type: "string",
      optional: true,
      computed: true,
      forceNew: true,
      field: "meta.name",
      description: "Unique name, a DNS label; default `<vm>-<UTC time>`. Changing it replaces " +
        "the snapshot.",
    },
    {
      name: "vm",
      type: "string",
      required: true,
      forceNew: true,
      field: "spec.vm",
      description: "The VM (id or name). Changing it replaces the snapshot.",
    },
    {
      name: "include_memory",
      type: "bool",
      optional: true,
      computed: true,
      default: true,
      forceNew: true,
      field: "spec.include_memory",
      description: "Save the VM's RAM and device state too (only a running VM has them). " +
        "Default true.",
    },
    {
      name: "description",
      type: "string",
      optional: true,
      forceNew: true,
      field: "spec.description",
      description: "Free text.",
    },
    {
      name: "labels",
      type: ["map", "string"],
      optional: true,
      forceNew: true,
      field: "meta.labels",
      description: "Labels. Changing them replaces the snapshot.",
    },
    computed("vm_id", "string", "The VM's UUID."),
    computed("has_memory", "bool", "Whether RAM and device state were saved."),
    computed("memory_bytes", "number", "What the saved RAM and device state take on disk."),
    computed("pause_ms", "number", "How long the guest was paused to take it."),
    computed("disks", ["list", "string"], "The files of the disks it holds."),
    computed("created_at", "string", "RFC 3339 time."),
  ],
  blocks: [TIMEOUTS_BLOCK],
};

export function objectFromSnapshot(s: T.Snapshot, prior: Obj | null): Obj {
  const m = s.meta!, st = s.status!;
  // The VM as configured (a name stays a name) while it is the same VM.
  const vm = prior && typeof prior.vm === "string" && prior.vm_id === s.spec!.vm
    ? prior.vm
    : s.spec!.vm;
  return {
    id: m.id,
    name: m.name,
    vm,
    include_memory: s.spec!.include_memory,
    description: s.spec!.description || null,
    labels: labelsLike(m.labels, prior),
    vm_id: s.spec!.vm,
    has_memory: st.has_memory,
    memory_bytes: st.memory_bytes,
    pause_ms: st.pause_ms,
    disks: st.disks.filter((d) => d.included).map((d) => d.path),
    created_at: m.created_at,
    timeouts: prior?.timeouts ?? null,
  };
}

function validate(config: Obj): P.Diagnostic[] {
  const { out, check } = metaChecks(config, SNAPSHOT_SCHEMA);
  if (!isUnknown(config.vm) && !isUnknown(config.description)) {
    check(() =>
      normalizeSnapshotSpec({
        vm: str(config.vm),
        include_memory: config.include_memory !== false,
        description: str(config.description),
      })
    );
  }
  return out;
}

async function create(client: InfrasimClient, planned: Obj): Promise<ApplyResult> {
  try {
    const s = await client.createSnapshot({
      meta: { name: isUnknown(planned.name) ? "" : str(planned.name), labels: labelsOf(planned) },
      spec: {
        vm: str(planned.vm),
        include_memory: planned.include_memory !== false,
        description: str(planned.description),
      },
    }, { timeoutSeconds: timeoutSeconds(planned, "create") });
    // The prior's vm_id is not known yet: keep the configured vm as written.
    return {
      state: objectFromSnapshot(s, { ...planned, vm_id: s.spec!.vm }),
      diagnostics: [],
    };
  } catch (e) {
    return { state: null, diagnostics: errorDiags(e, "Cannot create snapshot", SNAPSHOT_SCHEMA) };
  }
}

export const snapshotResource: Resource = {
  typeName: "infrasim_snapshot",
  schema: SNAPSHOT_SCHEMA,
  validate,
  create,
  // Only timeouts change in place; the snapshot itself never does.
  async update(client, prior, planned) {
    try {
      return {
        state: objectFromSnapshot(await client.getSnapshot(str(prior.id)), planned),
        diagnostics: [],
      };
    } catch (e) {
      return { state: prior, diagnostics: errorDiags(e, "Cannot read snapshot", SNAPSHOT_SCHEMA) };
    }
  },
  delete: (client, prior) =>
    deleteObject(
      () =>
        client.deleteSnapshot({ ref: str(prior.id) }, {
          timeoutSeconds: timeoutSeconds(prior, "delete"),
        }),
      prior,
      "snapshot",
    ),
  read: (client, current) =>
    readObject(() => client.getSnapshot(str(current.id)), (s) => objectFromSnapshot(s, current)),
  async importState(client, ref) {
    return objectFromSnapshot(await client.getSnapshot(ref), nullObject(SNAPSHOT_SCHEMA));
  },
};

/** infrasim_snapshot, the data source: one snapshot by name or id. */
export const snapshotDataSource = dataSourceFrom(snapshotResource, {
  description: "Looks up one snapshot by name or id.",
  get: (c, ref) => c.getSnapshot(ref),
  toObject: objectFromSnapshot,
});
