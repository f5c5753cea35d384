// Runs the infrasim CLI from source.
import { runCli } from "./main.ts";
process.exit(await runCli(process.argv.slice(2)));
