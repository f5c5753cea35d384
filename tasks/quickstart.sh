#!/usr/bin/env bash
# The main job: start infrasimd (if it is not running), then bring up a real VM from
# examples/terraform/quickstart with the real `terraform` and the built provider,
# and show that the web server inside the guest answers on its forwarded port.
# Runs after `deno task build` and `deno task guest` (task dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/dist/bin
DATA_DIR=${INFRASIM_DATA_DIR:-$HOME/.infrasim}
export INFRASIM_DATA_DIR=$DATA_DIR
ARCH=$(uname -m); [ "$ARCH" = arm64 ] && ARCH=aarch64
GUEST=${INFRASIM_GUEST_DIR:-$ROOT/.cache/guests}/$ARCH

command -v terraform >/dev/null || {
  echo "terraform (1.11 or later) is not on PATH; install it to run the quickstart" >&2; exit 1; }

if ! "$BIN/infrasim" status >/dev/null 2>&1; then
  mkdir -p "$DATA_DIR"
  echo "starting infrasimd (log: $DATA_DIR/infrasimd.log)"
  # Detached from this shell, so the daemon outlives the quickstart.
  # INFRASIM_LISTEN overrides the TCP address ("" = unix socket only).
  nohup "$BIN/infrasimd" ${INFRASIM_LISTEN+--listen "$INFRASIM_LISTEN"} \
    >>"$DATA_DIR/infrasimd.log" 2>&1 </dev/null &
  for _ in $(seq 100); do "$BIN/infrasim" status >/dev/null 2>&1 && break; sleep 0.1; done
  "$BIN/infrasim" status >/dev/null 2>&1 || { tail -5 "$DATA_DIR/infrasimd.log" >&2; exit 1; }
fi
"$BIN/infrasim" status

# A Terraform working dir outside the repository, using the built provider directly.
WORK=$DATA_DIR/quickstart
mkdir -p "$WORK"
cp examples/terraform/quickstart/main.tf "$WORK/main.tf"
cat >"$WORK/dev.tfrc" <<EOT
provider_installation {
  dev_overrides { "infrasim/infrasim" = "$BIN" }
  direct {}
}
EOT
export TF_CLI_CONFIG_FILE=$WORK/dev.tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
cd "$WORK"
terraform apply -auto-approve -var "guest_dir=$GUEST"
URL=$(terraform output -raw url)
for _ in $(seq 600); do
  "$BIN/infrasim" vm logs quickstart 2>/dev/null | grep -qa INFRASIM-READY && break; sleep 0.1
done
"$BIN/infrasim" vm list
echo "guest web server at $URL says: $(curl -fsS --retry 20 --retry-delay 1 --retry-all-errors "$URL")"
cat <<EOT

VM "quickstart" is running, managed by Terraform in $WORK. Try:
  $BIN/infrasim vm console quickstart          # Ctrl-] detaches
  (cd $WORK && TF_CLI_CONFIG_FILE=$WORK/dev.tfrc terraform destroy -var guest_dir=$GUEST)
EOT
