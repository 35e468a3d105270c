#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh - shoal's single-host data plane in one run, on this machine,
# inside namespaces it creates and removes again:
#   1. shoald in a "host" network namespace, maps pinned in a private bpffs;
#   2. a network and three endpoint namespaces attached to it;
#   3. pings between all of them (BPF redirect, BPF ARP responder);
#   4. per-endpoint counters from the kernel (`shoal stats`);
#   5. kill -9 of shoald in the middle of a ping: no packet lost;
#   6. restart: state and counters intact.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
W=$(mktemp -d /tmp/shoal-demo.XXXXXX)
P=demo$$
HOSTNS=$P-host
NS=()
DPID=

cleanup() {
	set +e
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	umount "$W/bpffs" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
shoal() { "$B/shoal" -H "unix://$W/shoal.sock" "$@"; }

start_daemon() {
	nsenter --net="/run/netns/$HOSTNS" "$B/shoald" --data-root "$W/data" --exec-root "$W/exec" \
		--host "unix://$W/shoal.sock" --bpffs-root "$W/bpffs" --node-name demo \
		--config-file "$W/daemon.json" >>"$W/shoald.log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do shoal version >/dev/null 2>&1 && return 0; sleep 0.1; done
	cat "$W/shoald.log"; exit 1
}

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces and loads BPF)" >&2; exit 1; }
mkdir -p "$W/bpffs"; mount -t bpf bpf "$W/bpffs"; echo '{}' > "$W/daemon.json"
ip netns add "$HOSTNS"; NS+=("$HOSTNS"); ip -n "$HOSTNS" link set lo up

say "start shoald (in namespace $HOSTNS, data-root $W/data)"
start_daemon
run shoal version

say "create a network and attach three namespaces"
run shoal network create --subnet 10.88.0.0/24 demo-net
for c in c1 c2 c3; do
	ip netns add "$P-$c"; NS+=("$P-$c"); ip -n "$P-$c" link set lo up
	run shoal network connect demo-net --netns "$P-$c"
done
run shoal network ls
shoal network inspect demo-net | jq '.[0] | {Name, Id, Driver, MTU, IPAM: .IPAM.Config, Containers: [.Containers[] | {Name, IPv4Address, MacAddress, HostInterface}]}'

say "ping all pairs (endpoint -> endpoint by bpf_redirect_peer, ARP answered in BPF)"
for a in c1 c2 c3; do for b in c1 c2 c3; do
	[ $a = $b ] && continue
	ip=$(shoal network inspect demo-net | jq -r --arg n "$P-$b" '.[0].Containers[] | select(.Name==$n) | .IPv4Address' | cut -d/ -f1)
	printf '%s -> %s (%s): ' $a $b "$ip"
	ip netns exec "$P-$a" ping -q -c 3 -i 0.1 -W 2 "$ip" | grep -o '[0-9]* received, [0-9.]*% packet loss'
done; done
echo "Linux bridges in the host namespace: $(ip -n "$HOSTNS" -o link show type bridge | wc -l)"

say "per-endpoint counters, read from the kernel's per-CPU map"
run shoal stats --no-stream

say "kill -9 shoald during a 100-packet ping, restart it 1 s later"
ip netns exec "$P-c1" ping -q -c 100 -i 0.03 10.88.0.3 > "$W/ping.out" &
PING=$!
sleep 0.5; kill -9 "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=
echo "shoald killed; the data plane keeps forwarding with no daemon"
sleep 1
start_daemon
wait $PING
grep 'packets transmitted' "$W/ping.out"

say "after the restart: state and counters intact"
echo "endpoints in state: $(shoal network inspect demo-net | jq '.[0].Containers | length')"
run shoal stats --no-stream
say "done; cleaning up"
