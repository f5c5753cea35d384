#!/usr/bin/env bash
# Deploys InfraSim from this checkout's dist/ the way a user would, then proves it:
# install (deno task install), start infrasimd, `terraform init` (the provider comes
# from ~/.terraform.d/plugins, no dev_overrides), apply the quickstart example, check
# the VM and its web server, destroy, and stop the daemon.
# Needs `deno task build` (or build:fast) and `deno task guest` first.
#   PREFIX (default ~/.local)  INFRASIM_DATA_DIR (default ~/.infrasim)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PREFIX=${PREFIX:-$HOME/.local}
export PREFIX INFRASIM_DATA_DIR=${INFRASIM_DATA_DIR:-$HOME/.infrasim}
ARCH=$(uname -m); [ "$ARCH" = arm64 ] && ARCH=aarch64
GUEST=${INFRASIM_GUEST_DIR:-$ROOT/.cache/guests}/$ARCH
DENO=${DENO:-$ROOT/tools/bin/deno}

echo "== install into $PREFIX"
"$DENO" run -A tasks/install.ts
BIN=$PREFIX/bin

echo "== start infrasimd"
mkdir -p "$INFRASIM_DATA_DIR"
started=""
if ! "$BIN/infrasim" status >/dev/null 2>&1; then
  "$BIN/infrasimd" ${INFRASIM_LISTEN+--listen "$INFRASIM_LISTEN"} >>"$INFRASIM_DATA_DIR/infrasimd.log" 2>&1 &
  started=$!
  for _ in $(seq 100); do "$BIN/infrasim" status >/dev/null 2>&1 && break; sleep 0.1; done
fi
"$BIN/infrasim" status
stop_daemon() { [ -z "$started" ] || kill "$started" 2>/dev/null || true; }
trap stop_daemon EXIT

echo "== terraform init + apply"
WORK=$(mktemp -d)
cp examples/terraform/quickstart/main.tf "$WORK/"
# Terraform picks a pre-release (a build between tags) only when pinned exactly.
VERSION=$("$BIN/infrasim" --version)
cat >"$WORK/version_override.tf" <<EOT
terraform {
  required_providers {
    infrasim = {
      source  = "infrasim/infrasim"
      version = "$VERSION"
    }
  }
}
EOT
cd "$WORK"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
terraform init -input=false
terraform apply -auto-approve -input=false -var "guest_dir=$GUEST"
URL=$(terraform output -raw url)

echo "== check"
"$BIN/infrasim" vm get quickstart
state=$("$BIN/infrasim" vm get quickstart -o json | grep -o '"state": "[A-Z]*"' | tail -1)
[ "$state" = '"state": "RUNNING"' ] || { echo "VM is not running: $state" >&2; exit 1; }
for _ in $(seq 600); do
  "$BIN/infrasim" vm logs quickstart | grep -qa INFRASIM-READY && break; sleep 0.1
done
echo "guest says: $(curl -fsS --retry 20 --retry-delay 1 --retry-all-errors "$URL")"

echo "== destroy"
terraform destroy -auto-approve -input=false -var "guest_dir=$GUEST"
cd "$ROOT" && rm -rf "$WORK"
echo "deploy: ok"
