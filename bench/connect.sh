#!/usr/bin/env bash
# Per-sandbox connect/disconnect latency of cnm next to the kernel floor,
# netavark and the CNI reference plugins, measured in ONE run by
# ../shared/bench/peers.sh (tools interleaved, so host noise hits all alike),
# then cnmd's memory and restart+reconcile time with 1000 endpoints
# (bench/restart.sh). Release build. Results in bench/results/.
#
# Usage (root):  bench/connect.sh              # N = 1 100 1000
#                NS_LIST="1 100" bench/connect.sh
# Note: peers.sh runs every tool in this machine's own network namespace
# (that is what it measures); it removes what it made at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-$(cd .. && pwd)/shared/bench/peers.sh}
OUT=$PWD/bench/results
mkdir -p "$OUT"

source dev/deps
CNM_PACKAGES+=(netavark aardvark-dns containernetworking-plugins iperf3 dnsperf jq)
cnm_install_deps

CNM_BIN=$(dev/release -p cnm-daemon -p cnm-cli -p cnm-dns)
export CNM_BIN

# One published port per container (-p HOSTPORT:80), as the floor and the peers do.
CNM_PUBLISH=${CNM_PUBLISH:-1} TOOLS=${TOOLS:-"cnm floor netavark cni"} PHASES=latency \
  NS_LIST=${NS_LIST:-"1 100 1000"} RESULTS=$OUT/peers.txt SUMMARY=$OUT/peers-summary.tsv \
  bash "$PEERS"

bash bench/restart.sh 1000 | tee "$OUT/restart.txt"
