// Runs infrasimd from source (deno task dev).
import { runDaemon } from "./main.ts";
process.exit(await runDaemon(process.argv.slice(2)));
