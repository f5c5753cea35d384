// The test guest with iperf3 in it, for the benchmarks: Debian's iperf3 and the libraries
// it needs (libiperf0, libsctp1, libssl3, libc6), unpacked from their .debs into a cpio
// archive that is appended to the guest's initrd (the kernel unpacks both). The archive is
// cached outside the work tree, keyed by the package list and the architecture.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Guest } from "../tests/helpers/env.ts";

const PACKAGES = ["iperf3", "libiperf0", "libsctp1", "libssl3", "libc6"];
/** What the guest needs of the unpacked packages: the program and the shared libraries. */
const KEEP = ["usr/bin/iperf3", "lib", "lib64", "usr/lib"];
const DROP = ["gconv", "engines-3", "ossl-modules", "audit", "ld.so.conf.d"];

const debArch = (arch: string) => (arch === "aarch64" ? "arm64" : "amd64");
const multiarch = (arch: string) => `${arch}-linux-gnu`;

/** The shell prefix that runs the guest's iperf3 (it has no ld.so.cache). */
export function iperfCommand(arch: string): string {
  const m = multiarch(arch);
  return `mkdir -p /tmp; LD_LIBRARY_PATH=/lib/${m}:/usr/lib/${m} iperf3`;
}

function extraArchive(arch: string): string {
  const key = createHash("sha256").update(JSON.stringify({ PACKAGES, KEEP, DROP, arch, v: 1 }))
    .digest("hex").slice(0, 16);
  const dir = join(homedir(), ".cache", "infrasim", "bench");
  const out = join(dir, `iperf3-${arch}-${key}.cpio.gz`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync("/tmp/isb-iperf-");
  try {
    execFileSync("apt-get", ["download", "-q=2", ...PACKAGES.map((p) => `${p}:${debArch(arch)}`)], {
      cwd: work,
      stdio: ["ignore", "pipe", "pipe"], // apt's notes: in the error, when it fails
    });
    const root = join(work, "root");
    for (const deb of readdirSync(work).filter((f) => f.endsWith(".deb"))) {
      execFileSync("dpkg-deb", ["-x", join(work, deb), root]);
    }
    for (const d of DROP) {
      execFileSync("find", [root, "-name", d, "-prune", "-exec", "rm", "-rf", "{}", "+"]);
    }
    const roots = KEEP.filter((k) => existsSync(join(root, k)));
    const files = execFileSync("find", [...roots, "(", "-type", "f", "-o", "-type", "l", ")"], {
      cwd: root,
      encoding: "utf8",
    }).split("\n").filter((f) => f && (f === "usr/bin/iperf3" || /\.so(\.|$)/.test(f)));
    if (!files.includes("usr/bin/iperf3")) throw new Error("no iperf3 in Debian's package");
    // The kernel's unpacker makes no missing parents: each directory comes first.
    const dirs = new Set<string>();
    for (const f of files) {
      const parts = f.split("/");
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
    }
    writeFileSync(join(work, "list"), [...[...dirs].sort(), ...files].join("\n") + "\n");
    execFileSync("sh", ["-c", `cpio -o -H newc --quiet < ../list | gzip -9 > '${out}.tmp'`], {
      cwd: root,
    });
    execFileSync("mv", [`${out}.tmp`, out]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The guest with an initrd that also holds iperf3 (written under `dir`). */
export function withIperf(g: Guest, dir: string): Guest {
  const initrd = join(dir, "initrd-iperf3.img");
  writeFileSync(
    initrd,
    Buffer.concat([readFileSync(g.initrd), readFileSync(extraArchive(g.arch))]),
  );
  return { ...g, initrd };
}
