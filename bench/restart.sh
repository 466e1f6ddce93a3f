#!/usr/bin/env bash
# cnmd with N endpoints: resident memory, and the time a restart after
# kill -9 takes until the API answers again (load + reconcile + serve).
# Runs in a throwaway network namespace; needs root and a release build.
#
# Usage: bench/restart.sh [N]     (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
BIN=${CNM_BIN:-$(dev/release -p cnm-daemon -p cnm-cli -p cnm-dns)}
P=cnmbr-$$
WORK=$(mktemp -d /tmp/cnm-bench-restart.XXXXXX)
SOCK=$WORK/run/cnmd.sock
PID=

cleanup() {
  set +e
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cnm() { "$BIN/cnm" -H "unix://$SOCK" "$@"; }
start() {   # sets PID and START_MS (no subshell: PID must survive)
  local t0=$EPOCHREALTIME
  nsenter --net="/run/netns/$P-host" -- "$BIN/cnmd" --root "$WORK/root" --run-root "$WORK/run" \
    --log-level warn >>"$WORK/cnmd.log" 2>&1 &
  PID=$!
  until cnm version >/dev/null 2>&1; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/cnmd.log"; exit 1; }
    sleep 0.005
  done
  START_MS=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
}

ip netns add "$P-host"
ip -n "$P-host" link set lo up
start; echo "first start: $START_MS ms"
cnm net create --subnet 10.240.0.0/16 bench >/dev/null
for ((i = 1; i <= N; i++)); do ip netns add "$P-c$i"; done
t0=$EPOCHREALTIME
for ((i = 1; i <= N; i++)); do cnm net connect bench --netns "/run/netns/$P-c$i" --name "c$i"; done
echo "connected $N sandboxes in $(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms"
echo "cnmd RSS with $N endpoints: $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") kB"
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
start; echo "restart after kill -9 with $N endpoints, until the API answers: $START_MS ms"
kept=$(cnm net inspect bench | grep -c '"EndpointID"')
echo "endpoints kept after restart: $kept of $N"
echo "cnmd RSS after restart: $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") kB"
[[ $kept == "$N" ]] || { echo "FAIL: endpoints lost" >&2; exit 1; }
