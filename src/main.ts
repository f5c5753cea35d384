// One executable, three tools (busybox-style): the name it was started under picks
// infrasimd, terraform-provider-infrasim or the infrasim CLI. Shipping one binary ships the runtime once.
// No top-level await: the compiled binary is precompiled to bytecode (CommonJS).
import { basename } from "node:path";
import { drainAndExit } from "./exit.ts";

async function main(): Promise<number> {
  const invoked = basename(process.argv0 || process.argv[1] || "").replace(/\.exe$/, "");
  const args = process.argv.slice(2);
  // Internal: a network's link engine, started by infrasimd under whichever name it runs.
  if (args[0] === "link-engine") {
    const { runLinkEngine } = await import("./engine/main.ts");
    return await runLinkEngine(args.slice(1));
  }
  if (invoked.startsWith("terraform-provider-infrasim")) {
    const { runProvider } = await import("./provider/main.ts");
    return await runProvider(args);
  }
  if (invoked.startsWith("infrasimd")) {
    const { runDaemon } = await import("./daemon/main.ts");
    return await runDaemon(args);
  }
  const { runCli } = await import("./cli/main.ts");
  return await runCli(args);
}

main().then(drainAndExit, (e) => {
  process.stderr.write(`fatal: ${(e as Error)?.stack ?? e}\n`);
  drainAndExit(1);
});
