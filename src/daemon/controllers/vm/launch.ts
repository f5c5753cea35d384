// What a VM's start needs around QEMU, for the runner: its volumes as drives, the
// cloud-init seed, and its links (handed to their engines before QEMU starts, taken
// back after it stops).
import { assertQemuHasStream } from "../../../network/tools.ts";
import type { HostInfo } from "../../../qemu/host.ts";
import type * as T from "../../../api/gen/infrasim.v1.ts";
import type { StoredVm } from "../../../store/vm_store.ts";
import type { VolumeStore } from "../../../store/volume_store.ts";
import type { GuestLaunch, LaunchHelpers, Readiness } from "../../contracts.ts";
import type { DataLayout } from "../../layout.ts";
import { prepareGuest } from "./guest.ts";
import type { VmLinks } from "./links.ts";
import { volumeDrives } from "./volumes.ts";

export class VmLaunch implements LaunchHelpers {
  constructor(
    private readonly links: VmLinks,
    private readonly volumes: VolumeStore,
    private readonly host: HostInfo,
    private readonly layout: DataLayout,
    private readonly readiness: Readiness,
  ) {}

  async prepare(vm: StoredVm, ports: T.PortForward[]): Promise<GuestLaunch> {
    const drives = volumeDrives(vm.spec, this.volumes);
    const nics = this.links.plan(vm);
    if (nics.length) {
      await assertQemuHasStream(this.host.binaries[vm.spec.arch as "x86_64"]!.path);
    }
    const g = await prepareGuest(
      { id: vm.meta.id, name: vm.meta.name, spec: vm.spec },
      ports,
      this.layout.vmDir(vm.meta.id),
      this.layout.root,
      nics,
    );
    await this.links.up(vm, nics);
    return { volumes: drives, seed: g?.seed, ssh: g?.ssh, nics };
  }

  started(vmId: string): void {
    this.links.started(vmId);
    this.readiness.start(vmId);
  }

  released(vmId: string): Promise<void> {
    this.readiness.stop(vmId);
    return this.links.down(vmId);
  }

  adopted(vm: StoredVm): Promise<void> {
    this.readiness.resume(vm.meta.id);
    return this.links.adopt(vm);
  }
}
