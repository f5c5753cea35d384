// bench/volume: creating a copy-on-write volume over an image through the API, against
// `qemu-img create` of the same overlay run directly, in the same run (goal: <= 100 ms).
// Usage: deno run -A bench/volume.ts [--rounds N]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { debianImage, TestDaemon } from "../tests/helpers/env.ts";
import { createArgs } from "../src/qemu/img.ts";
import { median } from "./lib.ts";

const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] || 20);
const d = await TestDaemon.start();
const tmp = mkdtempSync("/tmp/isb-vol-");
const raw: number[] = [];
const api: number[] = [];
try {
  const img = await d.client.importImage({
    meta: { name: "debian" },
    spec: { source: debianImage() },
  })
    .done;
  const backing = { path: img.status!.path, format: img.status!.format };
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    execFileSync("qemu-img", createArgs(join(tmp, `${i}.qcow2`), 8 * 1024 ** 3, backing));
    raw.push(performance.now() - t0);
    t0 = performance.now();
    await d.client.createVolume({ meta: { name: `v${i}` }, spec: { image: "debian", size_gb: 8 } });
    api.push(performance.now() - t0);
  }
} finally {
  await d.cleanup();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(
  `8 GiB overlay of a ${rounds}-round run: qemu-img create median ${median(raw).toFixed(1)} ms, ` +
    `CreateVolume median ${median(api).toFixed(1)} ms (goal <= 100 ms), ratio ${
      (median(api) / median(raw)).toFixed(2)
    }`,
);
process.exit(0);
