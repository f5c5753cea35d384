// deno task test: build everything, then run the whole suite against the compiled
// binaries, printing the time of each stage. Stages:
//   build    deno task build:fast                      } together, from the start
//   guests   deno task guest                           }
//   images   deno task image:debian aarch64 / x86_64   } in the background, from the start
//   check    deno check of every test file, once (the files then run with --no-check)
//   tests    tests/unit as one run, then each end-to-end file in a `deno test` of its own,
//            longest first, INFRASIM_TEST_JOBS (default 2) at a time, less one per image
//            still building (a build keeps a core busy; at least one file runs); a file
//            that uses a Debian image (debianImage(...)) starts once that image is built;
//            the files in SOLO run alone at the end.
// Each file's output is printed whole when it ends; the last line totals them in
// deno test's own form: "ok | N passed | N failed (time)" (FAILED when any failed).
// `deno task test tests/e2e/wait_test.ts ...` runs only the files given; --no-build uses
// the executables already in dist/.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const t0 = Date.now();
// tasks/run.sh: when the run started and how long setup took.
const runStart = Number(process.env.INFRASIM_RUN_START_MS) || t0;
const jobs = Math.max(1, Number(process.env.INFRASIM_TEST_JOBS) || 2);

/**
 * Files whose assertions are timings of the machine itself (link latency, rate and
 * jitter against tight bounds): they run alone, after everything else has finished.
 */
const SOLO = new Set([
  "tests/e2e/network_qos_test.ts",
  "tests/e2e/cli_network_test.ts",
  "tests/e2e/network_restart_test.ts",
  "tests/e2e/terraform_network_test.ts",
  "tests/e2e/link_netem_test.ts",
  "tests/e2e/link_counters_test.ts",
  "tests/e2e/link_capture_test.ts",
]);

/**
 * Rough durations (s) of the longest files on a 2-core machine, so that they start
 * first and the two lanes end together; the others count as 30 s.
 */
const EXPECTED: Record<string, number> = {
  "tests/e2e/debian_cli_test.ts": 285,
  "tests/e2e/debian_arm64_test.ts": 171,
  "tests/e2e/release_test.ts": 134,
  "tests/e2e/terraform_debian_test.ts": 116,
  "tests/e2e/terraform_network_test.ts": 79,
  "tests/e2e/network_qos_test.ts": 77,
  "tests/e2e/hardening_test.ts": 73,
  "tests/e2e/terraform_test.ts": 69,
  "tests/e2e/uefi_update_test.ts": 46,
  "tests/e2e/terraform_interrupt_test.ts": 40,
  "tests/e2e/network_restart_test.ts": 38,
  "tests/e2e/kill_cycle_test.ts": 36,
};

// --- output ----------------------------------------------------------------------
const secs = (ms: number) => (ms / 1000).toFixed(1);
const clock = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
};
const say = (line: string) => console.log(`[test] ${line}`);

interface Timing {
  name: string;
  start: number;
  end: number;
  ok: boolean;
}
const timings: Timing[] = [];

/** Runs a command to its end; output is streamed (live) or returned (buffered). */
function run(
  name: string,
  cmd: string,
  args: string[],
  opts: { live?: boolean; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; out: string; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", opts.live ? "inherit" : "pipe", opts.live ? "inherit" : "pipe"],
    });
    children.add(child);
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr?.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.on("error", (e) => (out += `${e}\n`));
    child.on("close", (code) => {
      children.delete(child);
      const end = Date.now();
      timings.push({ name, start, end, ok: code === 0 });
      resolve({ ok: code === 0, out, ms: end - start });
    });
  });
}

const children = new Set<ChildProcess>();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    for (const c of children) c.kill(sig);
    process.exit(130);
  });
}

// --- the test files ----------------------------------------------------------------
/** What `deno test <dir>` picks up: *_test.ts, *.test.ts and test.ts, recursively. */
function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (/(^|[_.])test\.[cm]?[jt]sx?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

// --no-build: the executables in dist/ are already built (the release pipeline's test stage).
const noBuild = process.argv.includes("--no-build");
const args = process.argv.slice(2).filter((a) => a !== "--no-build");
const selected = args.length > 0
  ? args.flatMap((a) => {
    const p = relative(root, join(Deno.cwd(), a));
    return statSync(join(root, p)).isDirectory() ? testFiles(p) : [p];
  })
  : testFiles("tests");

/** The Debian images a file builds or looks up through debianImage(...). */
function imagesOf(file: string): string[] {
  const src = readFileSync(join(root, file), "utf8");
  return [...src.matchAll(/debianImage\(\s*(?:"(x86_64|aarch64)")?\s*\)/g)].map((m) =>
    m[1] ?? "x86_64"
  );
}

interface Item {
  name: string;
  files: string[];
  images: string[];
  solo: boolean;
  expected: number;
}
const unit = selected.filter((f) => f.startsWith("tests/unit/"));
const items: Item[] = [];
if (unit.length > 0) {
  // The unit tests are quick and share process-wide state (cwd, env): one run, first.
  items.push({ name: "tests/unit", files: unit, images: [], solo: false, expected: 1e9 });
}
for (const f of selected.filter((f) => !f.startsWith("tests/unit/"))) {
  items.push({
    name: f,
    files: [f],
    images: [...new Set(imagesOf(f))],
    solo: SOLO.has(f),
    expected: EXPECTED[f] ?? 30,
  });
}
items.sort((a, b) => b.expected - a.expected);
const neededImages = [...new Set(items.flatMap((i) => i.images))].sort();

// --- stages ------------------------------------------------------------------------
let failedStage = "";

// The images build in the background from the start, each in its own process (the
// script takes a lock per arch); the emulated aarch64 one is the longest, so first.
const images = new Map<string, Promise<boolean>>();
const failedImages = new Set<string>();
for (const arch of neededImages) {
  say(`image ${arch}: building in the background (or cached)`);
  images.set(
    arch,
    run(`image ${arch}`, "deno", ["task", "-q", "image:debian", arch]).then((r) => {
      console.log(r.out.trimEnd());
      say(`image ${arch}: ${r.ok ? "done" : "FAILED"} in ${secs(r.ms)} s`);
      if (!r.ok) failedImages.add(arch);
      return r.ok;
    }),
  );
}
const imageDone = new Set<string>();
for (const [arch, p] of images) p.then(() => imageDone.add(arch));

const [build, guests] = await Promise.all([
  noBuild
    ? { ok: true, out: "", ms: 0 }
    : run("build", "deno", ["task", "-q", "build:fast"], { live: true }),
  run("guests", "deno", ["task", "-q", "guest"], { live: true }),
]);
say(`build: ${secs(build.ms)} s, guests: ${secs(guests.ms)} s`);
if (!build.ok) failedStage ||= "build";
if (!guests.ok) failedStage ||= "guests";

let passed = 0, failed = 0, ignored = 0;
const failedFiles: string[] = [];

if (!failedStage) {
  const allFiles = items.flatMap((i) => i.files);
  // The dashboard's browser code too: Bun bundles it without a type check.
  const check = await run("check", "deno", ["check", "--quiet", ...allFiles, "web/src/main.ts"]);
  process.stdout.write(check.out);
  say(`check: ${allFiles.length} files in ${secs(check.ms)} s`);
  if (!check.ok) failedStage = "check";
}

/** Runs one item and adds its counts; its output is printed whole at the end. */
async function runItem(item: Item): Promise<void> {
  const broken = item.images.filter((a) => failedImages.has(a));
  if (broken.length > 0) {
    // It would only build the image again, and fail the same way.
    say(`FAILED ${item.name}: not run, image ${broken.join(", ")} failed to build`);
    failed++;
    failedFiles.push(item.name);
    return;
  }
  say(`start ${item.name}`);
  const r = await run(item.name, "deno", ["test", "-A", "--no-check", ...item.files]);
  process.stdout.write(r.out.endsWith("\n") ? r.out : `${r.out}\n`);
  // deno test's closing line: "ok | 3 passed (2 steps) | 0 failed | 1 ignored (9s)".
  // deno-lint-ignore no-control-regex -- colour codes, when the terminal has them
  const plain = r.out.replace(/\x1b\[[0-9;]*m/g, "");
  const summary = [...plain.matchAll(/^(ok|FAILED) \| \d+ passed.*$/gm)].pop()?.[0];
  const count = (what: string) => Number(summary?.match(new RegExp(`(\\d+) ${what}`))?.[1] ?? 0);
  passed += count("passed");
  let f = count("failed");
  // A file that ended without its summary (crashed, or failed to load) counts as failed.
  if (!summary || (!r.ok && f === 0)) f = Math.max(f, 1);
  failed += f;
  ignored += count("ignored");
  if (f > 0) failedFiles.push(item.name);
  say(`${f > 0 ? "FAILED" : "ok"} ${item.name} in ${secs(r.ms)} s`);
}

const testsStart = Date.now();
if (!failedStage) {
  const pending = [...items];
  const running = new Set<Promise<void>>();
  const ready = (i: Item) => i.images.every((a) => imageDone.has(a) || !images.has(a));
  while (pending.length > 0 || running.size > 0) {
    const shared = pending.filter((i) => !i.solo);
    // Solo files wait until nothing else is running or pending.
    // An image build keeps a core busy: fewer files run at once meanwhile (never none).
    const lanes = Math.max(1, jobs - [...images.keys()].filter((a) => !imageDone.has(a)).length);
    const next = shared.length > 0
      ? (running.size < lanes ? shared.find(ready) : undefined)
      : (running.size === 0 ? pending.find(ready) : undefined);
    if (next) {
      pending.splice(pending.indexOf(next), 1);
      const p: Promise<void> = runItem(next).finally(() => running.delete(p));
      running.add(p);
      continue;
    }
    // Wait for a file to end or an image to be built, whichever comes first.
    const waits: Promise<unknown>[] = [...running];
    for (const [arch, p] of images) if (!imageDone.has(arch)) waits.push(p);
    await Promise.race(waits);
    await Promise.resolve(); // let the image's then() above mark it done
  }
}
await Promise.all(images.values());
const testsEnd = Date.now();

// --- summary -----------------------------------------------------------------------
const end = Date.now();
const line = (name: string, ms: number, from?: number) =>
  console.log(
    `[time] ${name.padEnd(16)} ${secs(ms).padStart(7)} s` +
      (from !== undefined
        ? `   (${clock(from - runStart)} .. ${clock(from + ms - runStart)})`
        : ""),
  );
console.log("");
console.log("[time] stage              duration   (from .. to, since the run started)");
const setupMs = Number(process.env.INFRASIM_SETUP_MS);
if (setupMs) line("setup", setupMs, runStart);
for (const name of ["build", "guests", ...neededImages.map((a) => `image ${a}`), "check"]) {
  const t = timings.find((x) => x.name === name);
  if (t) line(name + (t.ok ? "" : " FAILED"), t.end - t.start, t.start);
}
if (testsEnd > testsStart && !failedStage) line("tests", testsEnd - testsStart, testsStart);
line("total", end - runStart);
if (failedStage) console.log(`[test] stage failed: ${failedStage}`);
if (failedFiles.length > 0) console.log(`[test] failed: ${failedFiles.join(" ")}`);
if (failedStage && failed === 0) failed = 1;
console.log(
  `${failed > 0 ? "FAILED" : "ok"} | ${passed} passed | ${failed} failed` +
    `${ignored > 0 ? ` | ${ignored} ignored` : ""} (${clock(end - testsStart)})`,
);
process.exit(failed > 0 ? 1 : 0);
