// Runs the provider from source (for debugging with dev_overrides and a wrapper).
import { runProvider } from "./main.ts";
process.exit(await runProvider(process.argv.slice(2)));
