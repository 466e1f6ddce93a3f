#!/usr/bin/env bash
# TCP throughput through a published port, next to the same container
# reached without NAT and to a bare veth pair, in ONE run (iperf3, 1 stream,
# runs interleaved). Everything happens in throwaway namespaces:
#   P-host  runs cnmd; uplink veth 198.51.100.1 <-> P-cli 198.51.100.2
#   P-c1    container on network "bench" publishing 5201 -> 5201
#   P-rcli / P-rhost / P-rc  the same two hops built by hand, no cnm, no
#                nftables: client -> veth -> plain routing -> bridge -> veth
#   P-ra / P-rb  a bare veth pair (10.254.9.1 <-> .2), the kernel floor
# Paths:  published = P-cli -> 198.51.100.1:5201 -> DNAT -> bridge -> P-c1
#         routed    = P-rcli -> P-rhost routes -> bridge -> P-rc (same hops, no NAT, no firewall)
#         direct    = P-host -> container address (bridge + veth, no NAT; one hop fewer)
#         veth      = P-ra -> P-rb
# Usage (root): bench/ports.sh   env: SECS=5 RUNS=3 CNM_BIN=<dir with cnmd, cnm>
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-5}
RUNS=${RUNS:-3}
BIN=${CNM_BIN:-$(dev/release -p cnm-daemon -p cnm-cli -p cnm-dns)}
P=cnmbp-$$
WORK=$(mktemp -d /tmp/cnm-bench-ports.XXXXXX)
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
command -v iperf3 >/dev/null || { echo "needs iperf3 (apt-get install -y iperf3)" >&2; exit 1; }

for ns in host cli c1 rcli rhost rc ra rb; do ip netns add "$P-$ns"; ip -n "$P-$ns" link set lo up; done
ip -n "$P-host" link add up0 type veth peer name eth0 netns "$P-cli"
ip -n "$P-host" addr add 198.51.100.1/24 dev up0 && ip -n "$P-host" link set up0 up
ip -n "$P-cli" addr add 198.51.100.2/24 dev eth0 && ip -n "$P-cli" link set eth0 up
ip -n "$P-ra" link add eth0 type veth peer name eth0 netns "$P-rb"
ip -n "$P-ra" addr add 10.254.9.1/24 dev eth0 && ip -n "$P-ra" link set eth0 up
ip -n "$P-rb" addr add 10.254.9.2/24 dev eth0 && ip -n "$P-rb" link set eth0 up
# The routed baseline: what the published path costs minus NAT and firewall.
ip -n "$P-rhost" link add up0 type veth peer name eth0 netns "$P-rcli"
ip -n "$P-rhost" addr add 198.51.100.1/24 dev up0 && ip -n "$P-rhost" link set up0 up
ip -n "$P-rcli" addr add 198.51.100.2/24 dev eth0 && ip -n "$P-rcli" link set eth0 up
ip -n "$P-rcli" route add 10.252.9.0/24 via 198.51.100.1
ip -n "$P-rhost" link add br0 type bridge && ip -n "$P-rhost" link set br0 up
ip -n "$P-rhost" addr add 10.252.9.1/24 dev br0
ip -n "$P-rhost" link add v0 type veth peer name eth0 netns "$P-rc"
ip -n "$P-rhost" link set v0 master br0 up
ip -n "$P-rc" addr add 10.252.9.2/24 dev eth0 && ip -n "$P-rc" link set eth0 up
ip -n "$P-rc" route add default via 10.252.9.1
ip netns exec "$P-rhost" sysctl -qw net.ipv4.ip_forward=1

nsenter --net="/run/netns/$P-host" -- "$BIN/cnmd" --root "$WORK/root" --run-root "$WORK/run" \
  --log-level warn >"$WORK/cnmd.log" 2>&1 &
PIDS+=($!)
cnm() { "$BIN/cnm" -H "unix://$WORK/run/cnmd.sock" "$@"; }
until cnm version >/dev/null 2>&1; do sleep 0.05; done
cnm net create --subnet 10.253.9.0/24 bench >/dev/null
cnm net connect bench --netns "/run/netns/$P-c1" --name c1 -p 5201:5201
C1=$(ip -n "$P-c1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)

ip netns exec "$P-c1" iperf3 -s -p 5201 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$P-rb" iperf3 -s -p 5201 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$P-rc" iperf3 -s -p 5201 >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5

gbps() {  # NS TARGET -> receiver Gbit/s
  ip netns exec "$1" iperf3 -J -c "$2" -p 5201 -t "$SECS" |
    python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
declare -A ALL
for ((r = 1; r <= RUNS; r++)); do
  ALL[published]+="$(gbps "$P-cli" 198.51.100.1) "
  ALL[routed]+="$(gbps "$P-rcli" 10.252.9.2) "
  ALL[direct]+="$(gbps "$P-host" "$C1") "
  ALL[veth]+="$(gbps "$P-ra" 10.254.9.2) "
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "iperf3 TCP, 1 stream, ${SECS}s x $RUNS runs (receiver Gbit/s; all runs: ...)"
for path in published routed direct veth; do
  printf '  %-10s median %6s   runs: %s\n' "$path" "$(median <<<"${ALL[$path]}")" "${ALL[$path]}"
done
pub=$(median <<<"${ALL[published]}"); rt=$(median <<<"${ALL[routed]}")
dir=$(median <<<"${ALL[direct]}"); raw=$(median <<<"${ALL[veth]}")
awk -v p="$pub" -v t="$rt" -v d="$dir" -v r="$raw" 'BEGIN {
  printf "  published/routed = %.2f   published/direct = %.2f   published/veth = %.2f\n", p/t, p/d, p/r }'
