// Runs the infrasim CLI from source.
import { runCli } from "./main.ts";
import { drainAndExit } from "../exit.ts";
await drainAndExit(await runCli(process.argv.slice(2)));
