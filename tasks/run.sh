#!/usr/bin/env bash
# Entry point for a fresh machine: installs the pinned toolchain (tasks/setup.sh),
# then runs a deno task from deno.json, e.g. `./tasks/run.sh quickstart`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tasks/setup.sh
export DENO_DIR=$PWD/.deno PATH=$PWD/tools/bin:$PATH INFRASIM_SETUP_DONE=1
exec deno task "$@"
