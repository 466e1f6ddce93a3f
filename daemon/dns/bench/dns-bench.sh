#!/usr/bin/env bash
# =============================================================================
# dns-bench.sh - cnm-dns against aardvark-dns and dnsmasq, same 100 names
#
# A throwaway "host" netns (cdb-host) with bridge br0 = 10.77.0.1/16 and one
# "container" netns (cdb-c1, 10.77.0.2 = bench-1) on a veth. Each server runs
# alone in cdb-host, answering bench-1..bench-100 (A records), and is driven
# from cdb-c1 exactly as shared/bench/peers.sh drives its peers:
#   dnsperf -c 1 -T 1 -q 100 -l $SECS   (throughput, lost queries)
#   dnsrtt.py ... $SECS                 (closed loop, 1 in flight: p50/p99)
# plus the server's RSS (VmRSS / VmHWM) after the runs.
#
# Usage (root):  bash daemon/dns/bench/dns-bench.sh
#   env: SECS=5  BIN=path/to/cnm-dns (default: the static release build,
#        rebuilt by dev/release first so a stale binary is never measured)
#        AARDVARK=/usr/lib/podman/aardvark-dns  DNSRTT=../shared/bench/dnsrtt.py
# Output: a table on stdout; raw tool output in $OUT (default /tmp/cnm-dns-bench).
# Only namespaces and processes this script creates are touched (trap cleanup).
# =============================================================================
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SECS=${SECS:-5}
N=100
BIN=${BIN:-}
AARDVARK=${AARDVARK:-/usr/lib/podman/aardvark-dns}
DNSRTT=${DNSRTT:-$REPO/../shared/bench/dnsrtt.py}
OUT=${OUT:-/tmp/cnm-dns-bench}
HOST=cdb-host C1=cdb-c1 GW=10.77.0.1
SERVER_PID=

ip_of() { local n=$(( $1 + 1 )); echo "10.77.$(( n / 256 )).$(( n % 256 ))"; }   # bench-i

cleanup() {
  stop_server
  ip netns del "$C1" 2>/dev/null
  ip netns del "$HOST" 2>/dev/null
}

stop_server() {   # only the process we started (checked by its cmdline)
  [[ -n $SERVER_PID ]] || return 0
  if [[ $(tr '\0' ' ' < "/proc/$SERVER_PID/cmdline" 2>/dev/null) == *"$OUT"* ]]; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 50); do [[ -d /proc/$SERVER_PID ]] || break; sleep 0.1; done
  fi
  SERVER_PID=
}

wait_udp53() {    # port: wait until something in cdb-host listens (max 5 s)
  for _ in $(seq 50); do
    [[ -n $(ip netns exec "$HOST" ss -Hlnu "sport = :$1") ]] && return 0
    sleep 0.1
  done
  echo "WARNING: nothing listens on udp/$1" >&2; return 1
}

setup() {
  cleanup
  mkdir -p "$OUT"; rm -rf "${OUT:?}"/*
  ip netns add "$HOST"; ip netns add "$C1"
  ip -n "$HOST" -batch - <<IP
link set lo up
link add br0 type bridge
link set br0 up
addr add $GW/16 dev br0
link add v1 type veth peer name eth0 netns $C1
link set v1 master br0 up
IP
  ip -n "$C1" -batch - <<IP
link set lo up
link set eth0 up
addr add $(ip_of 1)/16 dev eth0
IP
  local i
  : > "$OUT/queries.txt"
  for ((i = 1; i <= N; i++)); do echo "bench-$i A" >> "$OUT/queries.txt"; done
}

# --- server configs: the same 100 names and addresses for each --------------
cnm_config() {
  : > "$OUT/resolv.conf"
  python3 - "$N" "$GW" > "$OUT/snapshot.json" <<'PY'
import json, sys
n, gw = int(sys.argv[1]), sys.argv[2]
ip = lambda i: f"10.77.{(i + 1) // 256}.{(i + 1) % 256}"
members = [{"sandbox_id": f"{i:064x}", "names": [f"bench-{i}", f"{i:064x}"[:12]], "addrs": [ip(i)]}
           for i in range(1, n + 1)]
net = {"id": "b" * 64, "name": "bench", "internal": False, "listen": [gw], "members": members}
print(json.dumps({"format": 1, "generation": 1, "networks": [net]}))
PY
}
aardvark_config() {
  mkdir -p "$OUT/aardvark"
  { echo "$GW"; for ((i = 1; i <= N; i++)); do printf '%064x %s  bench-%d\n' "$i" "$(ip_of "$i")" "$i"; done; } \
    > "$OUT/aardvark/bench"
}
dnsmasq_config() {
  for ((i = 1; i <= N; i++)); do echo "$(ip_of "$i") bench-$i"; done > "$OUT/hosts"
}

start_server() {  # name -> SERVER_PID, PORT
  case $1 in
    cnm-dns)
      PORT=53
      ip netns exec "$HOST" "$BIN" --snapshot "$OUT/snapshot.json" --resolv-conf "$OUT/resolv.conf" \
        --log-level warn > "$OUT/cnm-dns.out" 2> "$OUT/cnm-dns.log" &
      SERVER_PID=$! ;;
    aardvark)
      PORT=53
      ip netns exec "$HOST" "$AARDVARK" --config "$OUT/aardvark" -p 53 run > "$OUT/aardvark.log" 2>&1 &
      SERVER_PID=$! ;;
    dnsmasq)
      PORT=53
      ip netns exec "$HOST" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
        --addn-hosts="$OUT/hosts" --listen-address="$GW" --bind-interfaces --port=53 --user=root --group=root \
        --pid-file="$OUT/dnsmasq.pid" --log-facility="$OUT/dnsmasq.log" --cache-size=1000 > /dev/null 2>&1 &
      SERVER_PID=$! ;;
  esac
  wait_udp53 "$PORT" || return 1
  # aardvark may daemonize: follow its pid file
  if [[ $1 == aardvark && -r $OUT/aardvark/aardvark.pid ]]; then SERVER_PID=$(<"$OUT/aardvark/aardvark.pid"); fi
  return 0
}

bench_one() {     # name -> one table row
  local srv=$1 check perf rtt qps lost rss hwm
  start_server "$srv" || { printf '%-9s  (did not start)\n' "$srv"; stop_server; return; }
  check=$(ip netns exec "$C1" dig +short +time=1 +tries=1 @"$GW" -p "$PORT" bench-$N A)
  ip netns exec "$C1" dnsperf -s "$GW" -p "$PORT" -d "$OUT/queries.txt" -c 1 -T 1 -q 100 -l "$SECS" \
    > "$OUT/dnsperf-$srv.txt" 2>&1
  rtt=$(ip netns exec "$C1" python3 "$DNSRTT" "$GW" "$PORT" "$OUT/queries.txt" "$SECS" 2>&1)
  echo "$rtt" > "$OUT/dnsrtt-$srv.txt"
  qps=$(awk '/Queries per second:/ {print $4}' "$OUT/dnsperf-$srv.txt")
  lost=$(awk '/Queries lost:/ {print $3 " " $4}' "$OUT/dnsperf-$srv.txt")
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null)
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null)
  printf '%-9s %12.0f %14s %9s %9s %9s %8s %8s %s\n' "$srv" "${qps:-0}" "${lost:--}" \
    "$(grep -o 'p50_ms=[0-9.]*' <<<"$rtt" | cut -d= -f2)" "$(grep -o 'p99_ms=[0-9.]*' <<<"$rtt" | cut -d= -f2)" \
    "$(grep -o ' qps=[0-9]*' <<<"$rtt" | cut -d= -f2)" "$(( ${rss:-0} / 1024 ))" "$(( ${hwm:-0} / 1024 ))" \
    "check=${check:-none}"
  stop_server
}

main() {
  [[ $EUID == 0 ]] || { echo "must run as root" >&2; exit 1; }
  for t in dnsperf dig python3 ss; do command -v "$t" > /dev/null || { echo "missing $t" >&2; exit 1; }; done
  command -v dnsmasq > /dev/null || apt-get install -y dnsmasq-base > /dev/null
  if [[ -z $BIN ]]; then
    BIN=$(cd "$REPO" && dev/release -p cnm-dns)/cnm-dns || exit 1
  fi
  [[ -x $BIN ]] || { echo "no cnm-dns binary at $BIN" >&2; exit 1; }
  trap cleanup EXIT; trap 'exit 130' INT TERM
  setup; cnm_config; aardvark_config; dnsmasq_config
  echo "dns-bench $(date -Is): $N names, client netns $C1 -> $GW, ${SECS}s per tool; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "versions: cnm-dns $("$BIN" --version | cut -d' ' -f2); $("$AARDVARK" --version 2>/dev/null); $(dnsmasq --version | head -1 | cut -d' ' -f1-3)"
  printf '%-9s %12s %14s %9s %9s %9s %8s %8s\n' server 'dnsperf q/s' 'lost' 'p50 ms' 'p99 ms' 'rtt q/s' 'RSS MiB' 'peak MiB'
  for srv in ${SERVERS:-cnm-dns aardvark dnsmasq}; do bench_one "$srv"; done
  echo "raw output: $OUT"
}

main "$@"
