// Snapshots of a VM whose QEMU runs, through its QMP: saved and loaded by QEMU's
// snapshot jobs (the guest is paused while its RAM is written or read), disk-only ones
// in one transaction, deletions node by node. The disks stay the files they were.
import type * as T from "../../../api/gen/infrasim.v1.ts";
import { failedPrecondition, quote } from "../../../api/errors.ts";
import type { VmRuntime } from "../../../qemu/runtime.ts";
import { setGuestTime } from "../../../qemu/guest_agent.ts";
import { runPaths } from "../../../qemu/launch.ts";
import {
  deleteFromNode,
  ensureStateNode,
  loadProblem,
  machineFacts,
  runJob,
  settleJob,
  snapshotNodes,
  STATE_NODE,
} from "../../../qemu/snapshot.ts";
import type { SnapshotFiles } from "./files.ts";
import { followSave } from "./progress.ts";

/** How long a guest agent may take to answer after a load (the guest has just resumed). */
const AGENT_TIMEOUT_MS = 3000;

/** A save or load of many GiB of RAM is slow, but never endless. */
const JOB_TIMEOUT_MS = 10 * 60_000;

const jobId = (what: string, tag: string) => `infrasim-${what}-${tag}`;

export class LiveSnapshots {
  constructor(private readonly files: SnapshotFiles) {}

  /** The node of each disk in the running QEMU; a disk it does not have is an error. */
  async #nodes(rt: VmRuntime, disks: T.SnapshotDisk[]): Promise<string[]> {
    const open = await openNodes(rt);
    return disks.map((d) => {
      const node = open.get(d.path);
      if (!node) {
        throw failedPrecondition(
          `${d.field} (${quote(d.path)}) is not attached to the running QEMU: ` +
            `restart the VM so that it runs its current spec`,
        );
      }
      return node;
    });
  }

  /** Takes a snapshot; returns what the status learns (pause, QEMU facts). */
  async save(
    rt: VmRuntime,
    vmDir: string,
    tag: string,
    included: T.SnapshotDisk[],
    memory: boolean,
    progress: (bytes: number) => void = () => {},
  ): Promise<Partial<T.SnapshotStatus>> {
    const nodes = await this.#nodes(rt, included);
    if (!memory) {
      await snapshotNodes(rt.qmp, nodes, tag);
      return { pause_ms: 0 };
    }
    const stateFile = await this.files.ensureStateFile(vmDir);
    await ensureStateNode(rt.qmp, stateFile);
    const facts = await machineFacts(rt.qmp);
    const wasRunning = await this.#running(rt);
    const stop = await followSave(rt.pid, stateFile, progress);
    const t0 = performance.now();
    try {
      await runJob(rt.qmp, "snapshot-save", {
        "job-id": jobId("save", tag),
        tag,
        vmstate: STATE_NODE,
        devices: [STATE_NODE, ...nodes],
      }, JOB_TIMEOUT_MS);
    } finally {
      await stop();
    }
    const pause = Math.round(performance.now() - t0);
    if (wasRunning) await this.#resume(rt);
    return { pause_ms: pause, qemu_version: facts.qemuVersion, machine: facts.machine };
  }

  /** Refuses a memory snapshot this QEMU cannot load, naming both versions. */
  async checkLoadable(rt: VmRuntime, s: { meta: { name: string }; status: T.SnapshotStatus }) {
    const now = await machineFacts(rt.qmp);
    const problem = loadProblem(
      { qemuVersion: s.status.qemu_version, machine: s.status.machine },
      now,
    );
    if (problem) throw failedPrecondition(`snapshot ${quote(s.meta.name)}: ${problem}`);
  }

  /**
   * Loads a memory snapshot into the QEMU; the guest runs on from it, unless `resume` is
   * false (a start from a snapshot, whose QEMU was started paused).
   */
  async load(
    rt: VmRuntime,
    vmDir: string,
    tag: string,
    included: T.SnapshotDisk[],
    resume = true,
  ) {
    const nodes = await this.#nodes(rt, included);
    await ensureStateNode(rt.qmp, this.files.statePath(vmDir));
    await runJob(rt.qmp, "snapshot-load", {
      "job-id": jobId("load", tag),
      tag,
      vmstate: STATE_NODE,
      devices: [STATE_NODE, ...nodes],
    }, JOB_TIMEOUT_MS);
    if (resume) await this.#resume(rt);
  }

  /**
   * After a load the guest's clock reads the snapshot's moment (or wherever its clock
   * source puts it): its guest agent, when it runs one, sets it to the host's time. Returns
   * what the snapshot's status says of it.
   */
  async setClock(vmDir: string): Promise<{ set: boolean; message: string }> {
    const why = await setGuestTime(
      runPaths(vmDir).guestAgentSocket,
      BigInt(Date.now()) * 1_000_000n,
      AGENT_TIMEOUT_MS,
    );
    return why
      ? { set: false, message: `the guest's clock was not set (${why})` }
      : { set: true, message: "the guest's clock was set to the host's time by its guest agent" };
  }

  /**
   * Deletes a snapshot from the nodes of the running QEMU, and with qemu-img from files
   * it no longer has open (a volume detached since).
   */
  async remove(
    rt: VmRuntime,
    vmDir: string,
    tag: string,
    disks: T.SnapshotDisk[],
    memory: boolean,
  ): Promise<void> {
    const open = await openNodes(rt);
    const closed: string[] = [];
    for (const d of disks.filter((x) => x.included)) {
      const node = open.get(d.path);
      if (node) await deleteFromNode(rt.qmp, node, tag);
      else closed.push(d.path);
    }
    // A save cut short may not have made the state file yet.
    if (memory && await this.files.exists(this.files.statePath(vmDir))) {
      await ensureStateNode(rt.qmp, this.files.statePath(vmDir));
      await deleteFromNode(rt.qmp, STATE_NODE, tag);
    }
    await this.files.remove(tag, closed);
  }

  /** After a restart: lets a job of ours that QEMU still runs finish first. */
  async settle(rt: VmRuntime, tag: string): Promise<void> {
    for (const what of ["save", "load"]) await settleJob(rt.qmp, jobId(what, tag), 60_000);
    await this.#resume(rt);
  }

  async #running(rt: VmRuntime): Promise<boolean> {
    return (await rt.qmp.execute<{ status: string }>("query-status")).status === "running";
  }

  /** The jobs resume a guest they paused; this makes sure of it. */
  async #resume(rt: VmRuntime): Promise<void> {
    if (!(await this.#running(rt))) await rt.qmp.execute("cont");
  }
}

/** The node QEMU opened each disk file as, by the file's path. */
async function openNodes(rt: VmRuntime): Promise<Map<string, string>> {
  const blocks = await rt.qmp.execute<
    Array<{ inserted?: { file: string; "node-name": string } }>
  >("query-block");
  return new Map(
    blocks.filter((b) => b.inserted).map((b) => [b.inserted!.file, b.inserted!["node-name"]]),
  );
}
