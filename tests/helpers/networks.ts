// Building blocks of the private-network tests: test guests with NICs on networks, and
// the link engines a data dir runs.
import { spawnSync } from "node:child_process";
import type * as T from "../../src/api/gen/infrasim.v1.ts";
import { guest, guestSpec, READY, type TestDaemon } from "./env.ts";

const g = guest("x86_64");

/** A test guest with NICs on the given networks; cmdline adds infrasim.route= and the like. */
export function netVm(name: string, nics: Array<Partial<T.NetworkInterface>>, cmdline = "") {
  return {
    meta: { name },
    spec: guestSpec(g, {
      network: { mode: "user", port_forwards: [] },
      boot: {
        kernel: {
          kernel_path: g.kernel,
          initrd_path: g.initrd,
          cmdline: `${g.cmdline} ${cmdline}`.trim(),
        },
      },
      network_interfaces: nics.map((n) =>
        ({ ip: "", mac: "", link_qos: {}, ...n }) as T.NetworkInterface
      ),
    }),
  };
}

/** Creates the VMs and waits until each guest is up. */
export async function bootAll(d: TestDaemon, reqs: ReturnType<typeof netVm>[]): Promise<T.Vm[]> {
  const vms: T.Vm[] = [];
  for (const r of reqs) vms.push(await d.client.createVm(r));
  for (const vm of vms) {
    if (vm.status!.state !== "RUNNING") throw new Error(`${vm.meta!.name}: ${vm.status!.message}`);
    await d.waitSerial(vm, READY);
  }
  return vms;
}

/** pids of the link engines of a data dir's networks (of one, given its id). */
export function enginePids(dataDir: string, networkId = ""): number[] {
  const r = spawnSync("pgrep", ["-f", `link-engine --dir ${dataDir}/net/${networkId}`], {
    encoding: "utf8",
  });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

/** pids of any vde2 process naming the data dir (the previous data path: none expected). */
export function vdePids(dataDir: string): number[] {
  const r = spawnSync("pgrep", ["-f", `(vde_switch|wirefilter) .*${dataDir}/`], {
    encoding: "utf8",
  });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}
