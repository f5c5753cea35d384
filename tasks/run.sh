#!/usr/bin/env bash
# Entry point for a fresh machine: installs the pinned toolchain (tasks/setup.sh),
# then runs a deno task from deno.json, e.g. `./tasks/run.sh quickstart`.
# The test task prints the time of each stage; setup's is measured here.
set -euo pipefail
cd "$(dirname "$0")/.."
start_ms=$(date +%s%3N)
bash tasks/setup.sh
setup_ms=$(($(date +%s%3N) - start_ms))
printf '[time] setup: %d.%d s\n' $((setup_ms / 1000)) $((setup_ms % 1000 / 100))
export DENO_DIR=$PWD/.deno PATH=$PWD/tools/bin:$PATH INFRASIM_SETUP_DONE=1
export INFRASIM_RUN_START_MS=$start_ms INFRASIM_SETUP_MS=$setup_ms
exec deno task "$@"
