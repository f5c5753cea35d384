#!/usr/bin/env bash
# The main job: start infrasimd (if it is not running) and bring up a real VM from
# the test guest, then show that its forwarded TCP service answers.
# Runs after `deno task build` and `deno task guest` (task dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/dist/bin
DATA_DIR=${INFRASIM_DATA_DIR:-$HOME/.infrasim}
export INFRASIM_DATA_DIR=$DATA_DIR
ARCH=$(uname -m); [ "$ARCH" = arm64 ] && ARCH=aarch64
GUEST=${INFRASIM_GUEST_DIR:-$PWD/.cache/guests}/$ARCH
NAME=${1:-quickstart}

if ! "$BIN/infrasim" status >/dev/null 2>&1; then
  mkdir -p "$DATA_DIR"
  echo "starting infrasimd (log: $DATA_DIR/infrasimd.log)"
  nohup setsid "$BIN/infrasimd" >>"$DATA_DIR/infrasimd.log" 2>&1 </dev/null &
  for _ in $(seq 100); do "$BIN/infrasim" status >/dev/null 2>&1 && break; sleep 0.1; done
fi
"$BIN/infrasim" status

if "$BIN/infrasim" vm get "$NAME" >/dev/null 2>&1; then
  "$BIN/infrasim" vm start "$NAME"
else
  "$BIN/infrasim" vm create --name "$NAME" --arch "$ARCH" --cpu 1 --memory 256 \
    --kernel "$GUEST/kernel" --initrd "$GUEST/initrd.img" --cmdline "$(cat "$GUEST/cmdline")" \
    --port 80 --label app=quickstart --start >/dev/null
fi
LOG=$("$BIN/infrasim" vm get "$NAME" -o json | sed -n 's/.*"serial_log_path": "\(.*\)".*/\1/p')
ADDR=$("$BIN/infrasim" vm port "$NAME" 80)
for _ in $(seq 600); do grep -qa INFRASIM-READY "$LOG" 2>/dev/null && break; sleep 0.1; done
grep -qa INFRASIM-READY "$LOG" || { echo "the guest did not reach its ready marker; see $LOG" >&2; exit 1; }
"$BIN/infrasim" vm list
echo "guest service on $ADDR says: $(curl -fsS --retry 20 --retry-delay 1 --retry-all-errors "http://$ADDR/")"
cat <<EOT

VM "$NAME" is running. Try:
  $BIN/infrasim vm console $NAME     # Ctrl-] detaches
  $BIN/infrasim vm stop $NAME
  $BIN/infrasim vm delete $NAME
EOT
