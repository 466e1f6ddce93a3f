#!/usr/bin/env bash
# Overlay networks (issue 10's benchmark), measured in ONE run:
#   1. cross-host TCP throughput over the overlay next to the underlay it
#      rides on (iperf3, 1 stream, runs interleaved; target >= 0.9x);
#   2. how long after `cnm net connect` returns on one host a client on
#      another host first completes a TCP handshake with the new endpoint
#      (target <= 200 ms), and when that host's kernel got the peer entry;
#   3. connect latency on an overlay network next to a local bridge.
# Everything happens in throwaway namespaces:
#   O-ul   underlay bridge 192.168.241.254/24 and a real etcd on it
#   O-h1, O-h2   hosts (eth0 192.168.241.1 / .2, MTU 1500), one cnmd each
#   O-c1 on h1, O-c2 on h2: containers on overlay network "ov"
#   O-k1, O-k2, O-kc1, O-kc2: the same VXLAN path built by hand (no cnm)
# Usage (root): bench/overlay.sh   env: SECS=5 RUNS=3 REACH=20 CONNECTS=50
#                                       CNM_BIN=<dir with cnmd, cnm, cnm-dns>
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-5}
RUNS=${RUNS:-3}
REACH=${REACH:-20}
CONNECTS=${CONNECTS:-50}
BIN=${CNM_BIN:-$(dev/release -p cnm-daemon -p cnm-cli -p cnm-dns)}
P=cnmbo-$$
WORK=$(mktemp -d /tmp/cnm-bench-overlay.XXXXXX)
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
  # The daemons' logs outlive the run, for when a number looks wrong.
  mkdir -p /tmp/cnm-bench-overlay-logs && cp "$WORK"/*.log /tmp/cnm-bench-overlay-logs/
  rm -rf "$WORK"
}
trap cleanup EXIT
for tool in iperf3 etcd; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y iperf3 etcd-server)" >&2; exit 1; }
done

ip netns add "$P-ul"
ip -n "$P-ul" link set lo up
ip -n "$P-ul" link add ul0 address 02:00:00:00:01:fe type bridge
ip -n "$P-ul" addr add 192.168.241.254/24 dev ul0
ip -n "$P-ul" link set ul0 up
for i in 1 2; do
  ip netns add "$P-h$i"
  ip -n "$P-h$i" link set lo up
  ip -n "$P-h$i" link add eth0 type veth peer name "h$i" netns "$P-ul"
  ip -n "$P-ul" link set "h$i" master ul0 up
  ip -n "$P-h$i" addr add "192.168.241.$i/24" dev eth0
  ip -n "$P-h$i" link set eth0 up
done

ip netns exec "$P-ul" etcd --name b --data-dir "$WORK/etcd" \
  --listen-client-urls http://192.168.241.254:2379 \
  --advertise-client-urls http://192.168.241.254:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster b=http://127.0.0.1:2380 >"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
until ip netns exec "$P-ul" bash -c 'exec 3<>/dev/tcp/192.168.241.254/2379' 2>/dev/null; do sleep 0.1; done
sleep 0.3

for i in 1 2; do
  nsenter --net="/run/netns/$P-h$i" -- "$BIN/cnmd" --root "$WORK/h$i/root" --run-root "$WORK/h$i/run" \
    --cluster-store etcd://192.168.241.254:2379 --cluster-advertise "192.168.241.$i" \
    --log-level ${LOG_LEVEL:-warn} >"$WORK/cnmd-h$i.log" 2>&1 &
  PIDS+=($!)
done
cnm() { local h=$1; shift; "$BIN/cnm" -H "unix://$WORK/h$h/run/cnmd.sock" "$@"; }
for i in 1 2; do until cnm "$i" version >/dev/null 2>&1; do sleep 0.05; done; done

cnm 1 net create -d overlay --subnet 10.91.0.0/16 ov >/dev/null
until cnm 2 net ls -q --filter name=ov | grep -q .; do sleep 0.05; done
cnm 1 net create --subnet 10.92.0.0/16 lb >/dev/null
for i in 1 2; do
  ip netns add "$P-c$i"
  ip -n "$P-c$i" link set lo up
  cnm "$i" net connect ov --netns "/run/netns/$P-c$i" --name "c$i" >/dev/null
done
C2=$(ip -n "$P-c2" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)

# The kernel floor: the same data path built by hand, no cnm: hosts k1/k2
# on the same underlay (.11/.12), each a bridge with a VXLAN device (VNI
# 99, port 4790) and a veth to a container kc1/kc2 (10.97.0.1/.2), MTU
# 1450 inside, a static flood entry toward the other host.
for i in 1 2; do
  ip netns add "$P-k$i"; ip netns add "$P-kc$i"
  ip -n "$P-k$i" link set lo up; ip -n "$P-kc$i" link set lo up
  ip -n "$P-k$i" link add eth0 type veth peer name "k$i" netns "$P-ul"
  ip -n "$P-ul" link set "k$i" master ul0 up
  ip -n "$P-k$i" addr add "192.168.241.1$i/24" dev eth0
  ip -n "$P-k$i" link set eth0 up
  ip -n "$P-k$i" link add br0 type bridge
  ip -n "$P-k$i" link add vx0 type vxlan id 99 local "192.168.241.1$i" dstport 4790 nolearning
  ip -n "$P-k$i" link set vx0 mtu 1450 master br0 up
  ip -n "$P-k$i" link add v0 mtu 1450 type veth peer name eth0 netns "$P-kc$i"
  ip -n "$P-k$i" link set v0 master br0 up
  ip -n "$P-k$i" link set br0 up
  ip -n "$P-kc$i" link set eth0 mtu 1450 up
  ip -n "$P-kc$i" addr add "10.97.0.$i/24" dev eth0
  other=$((3 - i))
  bridge -n "$P-k$i" fdb append 00:00:00:00:00:00 dev vx0 dst "192.168.241.1$other"
done

# 1. Throughput: container to container across hosts, and host to host on
# the underlay itself.
ip netns exec "$P-c2" iperf3 -s -p 5201 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$P-h2" iperf3 -s -p 5202 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$P-kc2" iperf3 -s -p 5203 >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5
gbps() {  # NS TARGET PORT -> receiver Gbit/s
  ip netns exec "$1" iperf3 -J -c "$2" -p "$3" -t "$SECS" |
    python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
OV="" KV="" UL=""
for ((r = 1; r <= RUNS; r++)); do
  OV+="$(gbps "$P-c1" "$C2" 5201) "
  KV+="$(gbps "$P-kc1" 10.97.0.2 5203) "
  UL+="$(gbps "$P-h1" 192.168.241.2 5202) "
done
echo "iperf3 TCP across hosts, 1 stream, ${SECS}s x $RUNS runs (receiver Gbit/s)"
printf '  %-12s median %6s   runs: %s\n' overlay "$(median <<<"$OV")" "$OV" \
  "bare vxlan" "$(median <<<"$KV")" "$KV" underlay "$(median <<<"$UL")" "$UL"
awk -v o="$(median <<<"$OV")" -v k="$(median <<<"$KV")" -v u="$(median <<<"$UL")" 'BEGIN {
  printf "  overlay/underlay = %.2f   overlay/bare vxlan = %.2f   bare vxlan/underlay = %.2f\n", o/u, o/k, k/u }'

# 2 and 3: reachability of new remote endpoints, connect latency.
python3 bench/overlay_reach.py --cnm "$BIN/cnm" --work "$WORK" --prefix "$P" \
  --reach "$REACH" --connects "$CONNECTS"
