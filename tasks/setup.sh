#!/usr/bin/env bash
# Installs everything InfraSim needs on a fresh machine, pinned and project-local:
# Deno (toolchain) and Bun (compiler) from npm into tools/, the npm dependencies
# from deno.lock, and on Debian the QEMU/firmware/guest-building apt packages.
# Idempotent: a second run only checks. Prints the paths to use.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DENO_VERSION=2.9.5
BUN_VERSION=1.4.5

log() { printf '[setup] %s\n' "$*" >&2; }

# --- apt packages (Debian/Ubuntu) -------------------------------------------
# QEMU for both guest arches, edk2 firmware, what tasks/guest.sh builds guests with
# (it installs any further build packages it needs itself), and the shells whose
# completion the tests try for real, tshark (it reads the captures in the tests) and
# chromium (the dashboard's tests drive it headless through playwright-core), gnupg (the
# release's signatures), ruby (the Homebrew formula is checked with `ruby -c`) and unzip.
APT_PACKAGES=(qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64
  xorriso busybox-static cpio xz-utils curl openssh-client tmux bash-completion zsh fish tshark
  chromium gnupg ruby unzip)
# Without their recommends: prometheus only for its promtool (the metrics test checks the
# daemon's /metrics with it); its node exporter is not wanted.
APT_BARE=(prometheus)
if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null; then
  missing=()
  bare=()
  for p in "${APT_PACKAGES[@]}" "${APT_BARE[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
    if [[ " ${APT_BARE[*]} " == *" $p "* ]]; then bare+=("$p"); else missing+=("$p"); fi
  done
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "enabling the arm64 architecture (for the aarch64 test guest's packages)"
    dpkg --add-architecture arm64
    NEED_UPDATE=1
  fi
  if [ ${#missing[@]} -gt 0 ] || [ ${#bare[@]} -gt 0 ] || [ -n "${NEED_UPDATE:-}" ]; then
    log "installing apt packages: ${missing[*]:-} ${bare[*]:-}"
    apt-get update -qq
    [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    [ ${#bare[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${bare[@]}" >/dev/null
  fi
elif [ "$(uname -s)" = Darwin ]; then
  command -v qemu-system-aarch64 >/dev/null || {
    log "QEMU is missing: brew install qemu"; exit 1; }
fi

# --- pinned Deno and Bun from npm ---------------------------------------------
os=$(uname -s); arch=$(uname -m)
case "$os/$arch" in
  Linux/x86_64) deno_pkg=@deno/linux-x64-glibc; bun_pkg=@oven/bun-linux-x64 ;;
  Linux/aarch64) deno_pkg=@deno/linux-arm64-glibc; bun_pkg=@oven/bun-linux-aarch64 ;;
  Darwin/arm64) deno_pkg=@deno/darwin-arm64; bun_pkg=@oven/bun-darwin-aarch64 ;;
  Darwin/x86_64) deno_pkg=@deno/darwin-x64; bun_pkg=@oven/bun-darwin-x64 ;;
  *) log "unsupported host $os/$arch"; exit 1 ;;
esac
DENO=$ROOT/tools/deno/node_modules/$deno_pkg/deno
BUN=$ROOT/tools/bun/node_modules/$bun_pkg/bin/bun
# The platform packages carry the binaries; installing them directly avoids the
# wrapper packages' postinstall scripts (npm 11 does not run them by default).
if [ ! -x "$DENO" ] || [ "$("$DENO" --version | head -1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  log "installing deno $DENO_VERSION from npm"
  npm install --prefix tools/deno --ignore-scripts --no-audit --no-fund --save-exact --loglevel=error "$deno_pkg@$DENO_VERSION" >&2
fi
if [ ! -x "$BUN" ] || [ "$("$BUN" --version)" != "$BUN_VERSION" ]; then
  log "installing bun $BUN_VERSION from npm"
  npm install --prefix tools/bun --ignore-scripts --no-audit --no-fund --save-exact --loglevel=error "$bun_pkg@$BUN_VERSION" >&2
fi
# Relative links: tools/ stays valid when shared with a clone (the release test does).
mkdir -p tools/bin
ln -sfn "../deno/node_modules/$deno_pkg/deno" tools/bin/deno
ln -sfn "../bun/node_modules/$bun_pkg/bin/bun" tools/bin/bun

# --- npm dependencies, exactly as locked --------------------------------------
export DENO_DIR=$ROOT/.deno
"$DENO" install --frozen --quiet >&2
log "ok: deno $("$DENO" --version | head -1 | cut -d' ' -f2), bun $("$BUN" --version)"
