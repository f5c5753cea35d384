// bench/provider_startup: provider launch -> handshake line (goal <= 60 ms), against
// the same binary's bare start-up (`infrasim --version`) measured in the same run.
// Usage: deno run -A bench/provider_startup.ts [--bin DIR] (another build's bin dir)
import "reflect-metadata";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { generateServerCert } from "../src/provider/tls.ts";
import { BIN } from "../tests/helpers/env.ts";
import { median } from "./lib.ts";
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from "../src/provider/main.ts";

const argv = process.argv.slice(2);
const bin = argv.includes("--bin") ? argv[argv.indexOf("--bin") + 1] : BIN;
const rounds = 20;
const clientCert = (await generateServerCert()).certPem;
const provider = join(bin, "terraform-provider-infrasim");

function handshakeMs(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(provider, [], {
    env: {
      PATH: process.env.PATH,
      [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
      PLUGIN_PROTOCOL_VERSIONS: "6",
      PLUGIN_CLIENT_CERT: clientCert,
    },
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((resolve) => {
    child.stdout.once("data", () => {
      const ms = performance.now() - t0;
      child.kill("SIGKILL");
      child.once("exit", () => resolve(ms));
    });
  });
}

function bareMs(): number {
  const t0 = performance.now();
  spawnSync(join(bin, "infrasim"), ["--version"]);
  return performance.now() - t0;
}

const hs: number[] = [];
const bare: number[] = [];
await handshakeMs(); // warm the page cache
for (let i = 0; i < rounds; i++) {
  hs.push(await handshakeMs());
  bare.push(bareMs());
}
console.log(
  `${bin}: provider launch -> handshake: median ${median(hs).toFixed(1)} ms (goal <= 60 ms); ` +
    `bare start-up (infrasim --version) ${median(bare).toFixed(1)} ms; ratio ${
      (median(hs) / median(bare)).toFixed(2)
    }`,
);
