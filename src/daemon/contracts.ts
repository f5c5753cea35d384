// The contracts between kinds: what one part of the daemon may ask of another, as small
// read-mostly interfaces. Every collaborator is built in compose.ts and handed to its
// users' constructors; no object assigns functions into another.
import type * as T from "../api/gen/infrasim.v1.ts";
import type { PrivateNic, VolumeDrive } from "../qemu/args.ts";
import type { VmRuntime } from "../qemu/runtime.ts";
import type { Owner } from "../store/processes.ts";
import type { StoredVm } from "../store/vm_store.ts";
import type { StoredNetwork } from "../store/network_store.ts";
import type { EngineLinkConfig, EngineStats } from "../network/engine_protocol.ts";

/** Kinds as the feed, references and messages name them. */
export const VM = "VM" as const;
export const IMAGE = "IMAGE" as const;
export const VOLUME = "VOLUME" as const;
export const NETWORK = "NETWORK" as const;
export const SNAPSHOT = "SNAPSHOT" as const;
export const CHECKPOINT = "CHECKPOINT" as const;
export { CHECKPOINT_LABEL } from "../api/validate/checkpoint.ts";

/** An object's name by kind and id; its id when it is gone. */
export type NameOf = (kind: string, id: string) => string;

/**
 * The VMs whose QEMU runs, with its runtime. Only the VM runner adds and removes them;
 * links, volume resizes, the console and the wait read them.
 */
export interface RunningVms {
  /** The runtime of a running QEMU; undefined once it has exited. */
  runtime(vmId: string): VmRuntime | undefined;
}

/**
 * How a volume held by a VM grows: under the VM's lock (so the VM neither starts nor
 * stops meanwhile), inside its running QEMU (QMP block_resize), or by `offline` when
 * the VM is not running.
 */
export interface AttachedResize {
  (vmId: string, volumeId: string, sizeBytes: number, offline: () => Promise<unknown>): Promise<
    void
  >;
}

/**
 * What the network kind tells whoever carries VMs' links into it. It returns once every
 * running link on the network has been dealt with (or has failed: the first failure is
 * thrown after all were tried).
 */
export interface NetworkObserver {
  /** The network's default impairment changed. */
  qosChanged(networkId: string): Promise<void>;
}

/**
 * The data path a running VM's NICs were started on: "engine", or anything else for a
 * QEMU started by the previous release (its NICs were vde2 ports).
 */
export type VmDataPath = (vmId: string) => string | undefined;

/** A network's link engine, as the VMs' links use it. */
export interface LinkCarrier {
  /** Whether the network's engine runs. */
  active(networkId: string): boolean;
  /** UNAVAILABLE on the field unless it runs. */
  assertActive(network: StoredNetwork, field: string): void;
  /** Every link the network's engine carries from now on (all its running VMs' NICs). */
  carry(networkId: string, links: EngineLinkConfig[]): Promise<void>;
  /** The engine's counters, or undefined when it is not running or does not answer. */
  stats(networkId: string): Promise<EngineStats | undefined>;
}

/** What a start attaches beside the spec's own files: volumes, a seed, SSH facts, NICs. */
export interface GuestLaunch {
  volumes: VolumeDrive[];
  seed?: string;
  ssh?: T.SshAccess;
  /** Private NICs: the sockets QEMU listens on for its networks' link engines. */
  nics?: PrivateNic[];
}

/** What the VM runner needs done around QEMU: the guest's parts and its helper processes. */
export interface LaunchHelpers {
  /** Volumes, cloud-init seed and the links' processes, for a start; nothing left on failure. */
  prepare(vm: StoredVm, ports: T.PortForward[]): Promise<GuestLaunch>;
  /** QEMU runs (started and let go): its helpers' state can be told. */
  started(vmId: string): void;
  /** A VM's QEMU is gone or never came up: its helper processes go too. */
  released(vmId: string): Promise<void>;
  /** A running QEMU was adopted after a daemon restart: its helpers are adopted or repaired. */
  adopted(vm: StoredVm): Promise<void>;
}

/** A snapshot a stopped VM starts from, instead of booting. */
export interface StartFrom {
  /** The machine type QEMU starts with: the one the snapshot's memory was saved on. */
  machine: string;
  /** Loads the snapshot into a QEMU started paused (-S); it stays paused. */
  load(rt: VmRuntime): Promise<void>;
  /** The start is over, loaded or not (a loaded guest that runs gets its clock set). */
  done(): Promise<void>;
}

/** A VM's snapshots, as a VM delete and a start from a snapshot deal with them. */
export interface VmSnapshots {
  /**
   * Checks that a stopped VM can start from this snapshot (its own, with memory, the same
   * hardware and a QEMU able to load it) and holds it until done().
   */
  startFrom(vmId: string, ref: string, field: string): StartFrom;
  /**
   * Refuses, before anything is done, a VM delete that would lose snapshots: any, without
   * `withSnapshots` (naming them, on with_snapshots); a checkpoint's, always.
   */
  assertDeletable(vmId: string, withSnapshots: boolean): void;
  /** Deletes every snapshot of a VM; the caller holds the VM's lock. */
  deleteAllOf(vmId: string): Promise<void>;
}

/** Links' impairment as a checkpoint sets it back, live. */
export interface LinkSettings {
  /** A network's default impairment (nothing when it is the same, or the network is gone). */
  setNetworkQos(networkId: string, qos: T.LinkQos | null): Promise<void>;
  /**
   * A VM's links' impairment and state, matched by network and MAC; the caller holds the
   * VM's lock. Nothing changes when they are the same.
   */
  setVmLinks(vmId: string, nics: T.NetworkInterface[]): Promise<void>;
  /**
   * Stops the link clocks of these networks for at most `ms`, so frames in flight wait with
   * the paused VMs; returns the networks held and their release.
   */
  holdLinks(
    networkIds: string[],
    ms: number,
  ): Promise<{ held: string[]; release(): Promise<void> }>;
}

/** The daemon's probe of a running guest's readiness (spec.wait_for -> status.ready). */
export interface Readiness {
  /** Probes from now on (a start, an adoption, a new wait_for); ready is false until met. */
  start(vmId: string): void;
  /** After an adoption: probes only if the running guest was not ready yet. */
  resume(vmId: string): void;
  /** Ends the probe; the VM is not ready. */
  stop(vmId: string): void;
}

/**
 * Status that other objects decide and that is stored, so watchers see it change: a
 * volume's holder (from references) and a network's attachments (from its VMs' links).
 */
export interface Projections {
  /** The objects whose projected status a VM takes part in (its volumes and networks). */
  targetsOf(vmId: string): Owner[];
  /** Recomputes and stores the projected status of these objects (unchanged: no event). */
  refresh(targets: Owner[]): void;
}
