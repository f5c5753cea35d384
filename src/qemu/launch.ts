// Everything between a VM spec and a QEMU command line that touches the host: the
// host checks of user files (asynchronous, with timeouts), the run directory, the
// per-VM UEFI variable store and disk formats. The command line itself stays a pure
// function (args.ts).
import { chmod, copyFile, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type * as T from "../api/gen/infrasim.v1.ts";
import { ApiError, invalid, Violations } from "../api/errors.ts";
import { checkUserFile, detectDiskFormat } from "../host/files.ts";
import { checkKernelArch } from "../host/kernel_arch.ts";
import type { Accelerator, Arch } from "../api/validate/common.ts";
import { buildQemuArgs, type PrivateNic, type RunPaths, type VolumeDrive } from "./args.ts";
import { withTimeout } from "../timeout.ts";
import { acceleratorProblem, findFirmware, type HostInfo } from "./host.ts";

export function runPaths(vmDir: string): RunPaths {
  return {
    qmpSocket: join(vmDir, "qmp.sock"),
    serialSocket: join(vmDir, "serial.sock"),
    serialLog: join(vmDir, "serial.log"),
    pidFile: join(vmDir, "qemu.pid"),
    firmwareVars: join(vmDir, "efivars.fd"),
    vncSocket: join(vmDir, "vnc.sock"),
    guestAgentSocket: join(vmDir, "qga.sock"),
  };
}

/** Checks a spec against the host: files, the arch's QEMU, firmware, the accelerator. */
export async function checkVmSpecOnHost(
  spec: T.VmSpec,
  host: HostInfo,
  dataDir: string,
): Promise<void> {
  const arch = spec.arch as Arch;
  if (!host.binaries[arch]) {
    throw invalid(
      "spec.arch",
      `no qemu-system-${arch} found on this host (install QEMU, or choose the other --arch)`,
    );
  }
  const checks: Array<Promise<unknown>> = [];
  const k = spec.boot?.kernel;
  if (k) {
    checks.push(checkUserFile(k.kernel_path, "spec.boot.kernel.kernel_path", dataDir));
    if (k.initrd_path) {
      checks.push(checkUserFile(k.initrd_path, "spec.boot.kernel.initrd_path", dataDir));
    }
  }
  const d = spec.boot?.disk;
  if (d) {
    checks.push(checkUserFile(d.path, "spec.boot.disk.path", dataDir, { writable: true }));
    if (d.firmware_path) {
      checks.push(checkUserFile(d.firmware_path, "spec.boot.disk.firmware_path", dataDir));
    }
  }
  const vb = spec.boot?.volume;
  if (vb?.firmware_path) {
    checks.push(checkUserFile(vb.firmware_path, "spec.boot.volume.firmware_path", dataDir));
  }
  spec.disks.forEach((x, i) =>
    checks.push(
      checkUserFile(x.path, `spec.disks[${i}].path`, dataDir, { writable: !x.read_only }),
    )
  );
  // Every file that fails is reported, in spec order; anything but a field error first.
  const failed = (await Promise.allSettled(checks)).filter((r) => r.status === "rejected")
    .map((r) => (r as PromiseRejectedResult).reason);
  const other = failed.find((e) => !(e instanceof ApiError) || e.violations.length === 0);
  if (other) throw other;
  const vs = new Violations();
  for (const e of failed as ApiError[]) {
    vs.check(() => {
      throw e;
    }, undefined);
  }
  vs.done();
  if (
    !k && !d?.firmware_path && !vb?.firmware_path && !findFirmware(arch, host.binaries[arch]?.path)
  ) {
    throw invalid(
      "spec.boot",
      `UEFI boot needs edk2 firmware for ${arch}, and none was found (install ovmf / qemu-efi-aarch64)`,
    );
  }
  const problem = spec.accelerator &&
    acceleratorProblem(spec.accelerator as Accelerator, arch, host.kvm);
  if (problem) throw invalid("spec.accelerator", problem);
  // Last: the only check that reads a user file's contents.
  if (k) await checkKernelArch(k.kernel_path, arch, "spec.boot.kernel.kernel_path");
}

export interface PreparedLaunch {
  binary: string;
  accelerator: Accelerator;
  args: string[];
}

/**
 * Prepares the run dir (fresh sockets, a UEFI variable store on first use) and builds
 * the command line. The spec must have passed checkVmSpecOnHost.
 */
export async function prepareLaunch(
  vm: { id: string; name: string; spec: T.VmSpec },
  ports: T.PortForward[],
  vmDir: string,
  host: HostInfo,
  guest: { volumes: VolumeDrive[]; seed?: string; nics?: PrivateNic[] } = { volumes: [] },
): Promise<PreparedLaunch> {
  const { spec } = vm;
  const arch = spec.arch as Arch;
  const paths = runPaths(vmDir);
  const binary = host.binaries[arch]!.path;
  const accelerator = (spec.accelerator || host.accelerators[arch]) as Accelerator;
  await mkdir(vmDir, { recursive: true, mode: 0o700 });
  await Promise.all(
    [paths.qmpSocket, paths.serialSocket].map((f) => rm(f, { force: true })),
  );
  let firmwareCode: string | undefined;
  if (!spec.boot?.kernel) {
    const given = spec.boot?.disk?.firmware_path || spec.boot?.volume?.firmware_path;
    const fw = given ? { code: given, vars: "" } : findFirmware(arch, binary)!;
    firmwareCode = fw.code;
    if (!(await stat(paths.firmwareVars).catch(() => undefined))) {
      if (fw.vars) await copyFile(fw.vars, paths.firmwareVars);
      else {
        const size = (await withTimeout(stat(fw.code), 5000, fw.code)).size;
        await writeFile(paths.firmwareVars, new Uint8Array(size));
      }
      await chmod(paths.firmwareVars, 0o600);
    }
  }
  const diskFormats: Record<string, string> = {};
  const disks: Array<[string | undefined, string, string]> = [
    [spec.boot?.disk?.path, spec.boot?.disk?.format ?? "", "spec.boot.disk.path"],
    ...spec.disks.map((
      d,
      i,
    ): [string, string, string] => [d.path, d.format, `spec.disks[${i}].path`]),
  ];
  for (const [p, format, field] of disks) {
    if (p && !format) diskFormats[p] = await detectDiskFormat(p, field);
  }
  const args = buildQemuArgs({
    id: vm.id,
    name: vm.name,
    spec,
    accelerator,
    ports,
    paths,
    firmwareCode,
    supervised: true,
    diskFormats,
    volumes: guest.volumes,
    seed: guest.seed,
    nics: guest.nics,
  });
  return { binary, accelerator, args };
}
