#!/usr/bin/env bash
# `cnm run --rm ROOTFS true` wall time next to `runc run` of the same rootfs
# (Debian's runc), interleaved in ONE run. cnmd runs in a throwaway "host"
# namespace; runc makes its own empty network namespace, so the fair pair is
# `cnm run --network none`; `cnm run` on the default bridge (veth, address,
# route, hosts/resolv.conf) is shown too.
# Usage (root): bench/run.sh   env: RUNS=30 CNM_BIN=<dir with cnmd, cnm, cnm-shim>
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
command -v runc >/dev/null || { echo "needs runc (apt-get install -y runc)" >&2; exit 1; }
BIN=${CNM_BIN:-$(dev/release -p cnm-daemon -p cnm-cli -p cnm-dns -p cnm-runtime)}
P=cnmbrun-$$
WORK=$(mktemp -d /var/tmp/cnm-bench-run.XXXXXX)   # not /tmp: overlay upper dirs need a real fs
PID=
cleanup() {
  set +e
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  ip netns del "$P-host" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$P-host"; ip -n "$P-host" link set lo up
nsenter --net="/run/netns/$P-host" -- "$BIN/cnmd" --root "$WORK/root" --run-root "$WORK/run" \
  --log-level warn >"$WORK/cnmd.log" 2>&1 &
PID=$!
cnm() { "$BIN/cnm" -H "unix://$WORK/run/cnmd.sock" "$@"; }
until cnm version >/dev/null 2>&1; do sleep 0.05; done
cnm rootfs busybox "$WORK/rootfs" >/dev/null
mkdir -p "$WORK/bundle" && cp -a "$WORK/rootfs" "$WORK/bundle/rootfs"
(cd "$WORK/bundle" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["root"]["readonly"] = False
json.dump(c, open("config.json", "w"))
PY
)
ms() { local s=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2; echo $(( (${EPOCHREALTIME/./} - s) )); }
declare -A T
one() {  # TOOL ITERATION
  case $1 in
    runc) T[runc]+="$(cd "$WORK/bundle" && ms runc run "b$$-$2") " ;;
    cnm_none) T[cnm_none]+="$(ms cnm run --rm --network none "$WORK/rootfs" true) " ;;
    cnm_bridge) T[cnm_bridge]+="$(ms cnm run --rm "$WORK/rootfs" true) " ;;
  esac
}
# The order turns every iteration: a container's teardown (its network
# namespace is freed by a kernel worker, after the process is gone) slows
# whatever starts next, so each tool follows each other equally often.
ORDER=(runc cnm_none cnm_bridge)
for ((i = 1; i <= RUNS; i++)); do
  for ((k = 0; k < 3; k++)); do one "${ORDER[(i + k) % 3]}" "$i"; done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
r=$(median <<<"${T[runc]}"); n=$(median <<<"${T[cnm_none]}"); b=$(median <<<"${T[cnm_bridge]}")
echo "wall time of one container running \`true\`, median of $RUNS, ms:"
awk -v r="$r" -v n="$n" -v b="$b" 'BEGIN {
  printf "  runc run                     %7.2f\n", r/1000
  printf "  cnm run --rm --network none  %7.2f   (%.2fx runc)\n", n/1000, n/r
  printf "  cnm run --rm (default bridge) %6.2f   (%.2fx runc)\n", b/1000, b/r }'
