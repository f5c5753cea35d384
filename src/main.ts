// One executable, three tools (busybox-style): the name it was started under picks
// infrasimd or the infrasim CLI. Shipping one binary ships the runtime once.
import { basename } from "node:path";

const invoked = basename(process.argv0 || process.argv[1] || "").replace(/\.exe$/, "");
const args = process.argv.slice(2);

let code: number;
if (invoked.startsWith("infrasimd")) {
  const { runDaemon } = await import("./daemon/main.ts");
  code = await runDaemon(args);
} else {
  const { runCli } = await import("./cli/main.ts");
  code = await runCli(args);
}
process.exit(code);
