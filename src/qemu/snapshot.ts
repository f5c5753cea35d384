// Internal qcow2 snapshots of a running QEMU, through QMP: the VM's state file as a block
// node of its own, the save and load jobs, and deleting a snapshot from a node. Every wait is bounded; a job's own error is what is thrown.
import type { QmpClient } from "./qmp.ts";
import { sleep } from "../timeout.ts";

/** The node the VM's RAM and device state are saved to: <vm dir>/state.qcow2, no device. */
export const STATE_NODE = "infrasim-state";

/** Opens the state file as STATE_NODE unless this QEMU has it open already. */
export async function ensureStateNode(qmp: QmpClient, path: string): Promise<void> {
  const nodes = await qmp.execute<Array<{ "node-name": string }>>("query-named-block-nodes", {
    flat: true,
  });
  if (nodes.some((n) => n["node-name"] === STATE_NODE)) return;
  await qmp.execute("blockdev-add", {
    driver: "qcow2",
    "node-name": STATE_NODE,
    file: { driver: "file", filename: path },
  });
}

interface Job {
  id: string;
  status: string;
  error?: string;
}

/**
 * Waits until a job is concluded, dismisses it and returns it; undefined when there is
 * no such job. QEMU does the work on its main loop, so QMP itself is silent meanwhile:
 * each poll may wait as long as the deadline leaves.
 */
async function concluded(qmp: QmpClient, id: string, deadline: number): Promise<Job | undefined> {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`job ${id}: not done in time`);
    const job = (await qmp.execute<Job[]>("query-jobs", undefined, left)).find((j) => j.id === id);
    if (!job || job.status === "concluded") {
      if (job) await qmp.execute("job-dismiss", { id });
      return job;
    }
    await sleep(10);
  }
}

/** Runs a QMP job (snapshot-save, snapshot-load) to its end; its own error is thrown. */
export async function runJob(
  qmp: QmpClient,
  command: string,
  args: Record<string, unknown>,
  timeoutMs: number,
): Promise<void> {
  const id = String(args["job-id"]);
  const deadline = Date.now() + timeoutMs;
  await qmp.execute(command, args, timeoutMs);
  const job = await concluded(qmp, id, deadline);
  if (!job) throw new Error(`${command}: job ${id} vanished`);
  if (job.error) throw new Error(`${command}: ${job.error}`);
}

/** Lets a job of ours that QEMU may still run end (bounded); used after a restart. */
export async function settleJob(qmp: QmpClient, id: string, timeoutMs: number): Promise<void> {
  await concluded(qmp, id, Date.now() + timeoutMs);
}

/** Disk-only: internal snapshots of these nodes in one transaction (I/O drained, atomic). */
export async function snapshotNodes(qmp: QmpClient, nodes: string[], tag: string): Promise<void> {
  await qmp.execute("transaction", {
    actions: nodes.map((device) => ({
      type: "blockdev-snapshot-internal-sync",
      data: { device, name: tag },
    })),
  }, 60_000);
}

/** Deletes a node's internal snapshot; one that is not there is already gone. */
export async function deleteFromNode(qmp: QmpClient, node: string, tag: string): Promise<void> {
  try {
    await qmp.execute(
      "blockdev-snapshot-delete-internal-sync",
      { device: node, name: tag },
      60_000,
    );
  } catch (e) {
    if (!/not found|can't find|does not exist/i.test((e as Error).message)) throw e;
  }
}

/** The QEMU version and the machine type it resolved (e.g. "q35" to "pc-q35-7.2"). */
export async function machineFacts(
  qmp: QmpClient,
): Promise<{ qemuVersion: string; machine: string }> {
  const v = await qmp.execute<{ qemu: { major: number; minor: number; micro: number } }>(
    "query-version",
  );
  const type = await qmp.execute<string>("qom-get", { path: "/machine", property: "type" });
  return {
    qemuVersion: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`,
    machine: type.replace(/-machine$/, ""),
  };
}

/** Whether a QEMU can load a memory snapshot: the same machine type, a version not older. */
export function loadProblem(
  saved: { qemuVersion: string; machine: string },
  now: { qemuVersion: string; machine: string },
): string | undefined {
  const num = (v: string) => v.split(".").map(Number);
  const [a, b] = [num(saved.qemuVersion), num(now.qemuVersion)];
  const older = b[0] - a[0] || b[1] - a[1] || b[2] - a[2];
  if (saved.machine === now.machine && older >= 0) return undefined;
  return `it was saved by QEMU ${saved.qemuVersion} (machine ${saved.machine}); this VM runs ` +
    `QEMU ${now.qemuVersion} (machine ${now.machine}), which cannot load it`;
}
