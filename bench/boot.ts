// bench/boot: API create+start until the guest's ready marker, against raw QEMU
// started with the same arguments (from the same args builder) in the same run.
// Usage: deno task bench [--arch x86_64|aarch64] [--rounds N]
import { guest, guestSpec, READY, TestDaemon } from "../tests/helpers/env.ts";
import { median, rawQemuBoot, untilMarker } from "./lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const arch = opt("arch", "x86_64") as "x86_64" | "aarch64";
const rounds = Number(opt("rounds", "5"));

const g = guest(arch);

async function viaApi(d: TestDaemon, i: number): Promise<number> {
  const t0 = performance.now();
  const vm = await d.client.createVm({ meta: { name: `bench-${i}` }, spec: guestSpec(g) });
  try {
    return await untilMarker(vm.status!.serial_log_path, t0);
  } finally {
    await d.client.deleteVm({ ref: vm.meta!.id, force: true });
  }
}

const d = await TestDaemon.start();
const raw: number[] = [];
const api: number[] = [];
try {
  await rawQemuBoot(g, 29990); // warm the page cache
  for (let i = 0; i < rounds; i++) {
    raw.push(await rawQemuBoot(g, 29990));
    api.push(await viaApi(d, i));
  }
} finally {
  await d.cleanup();
}
const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(" ");
console.log(`boot to ${READY}, ${arch} under TCG, ${rounds} rounds (s): raw qemu [${fmt(raw)}]`);
console.log(`                                            infrasimd API [${fmt(api)}]`);
console.log(
  `median raw ${(median(raw) / 1000).toFixed(3)} s, api ${
    (median(api) / 1000).toFixed(3)
  } s, ratio api/raw = ${(median(api) / median(raw)).toFixed(3)} (goal <= 1.05)`,
);
process.exit(0);
