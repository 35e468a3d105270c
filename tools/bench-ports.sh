#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-ports.sh - published ports: shoal's eBPF DNAT against
# iptables DNAT (Docker's path with userland-proxy=false) and plain
# routing, same run, same namespaces.
#
# A "host" namespace runs shoald (--ip-masq=false: no SNAT on any row) with
# one local network and one endpoint namespace (the container, iperf3 and
# sockperf servers). A client namespace is joined to the host by a veth
# (ext0 192.168.79.1 <-> 192.168.79.2); the client reaches the servers by
#
#   ebpf      192.168.79.1:PORT+10000, published in shoal's ports map:
#             from_external DNATs and bpf_redirect_peer's into the
#             container, from_container reverses and bpf_redirect_neigh's
#   iptables  192.168.79.1:PORT+20000, an iptables DNAT rule in the host
#             namespace (nat PREROUTING), forwarded and reverse-NAT'd by
#             the kernel's conntrack
#   routed    the container's own address, through a client route via the
#             host: forwarding, no NAT at all (the floor)
#
# Figures per row (median over REPS interleaved reps): iperf3 1 TCP stream
# DUR s pinned (-A client,server) Gbit/s; sockperf ping-pong TCP 64 B
# LAT_DUR s, one-way latency p50/p99 us, client and server on one CPU.
#
# Usage: sudo tools/bench-ports.sh
# Env:   DUR=5 LAT_DUR=3 REPS=3 IPERF_PIN=0,1 LAT_PIN=0 RESULT_FILE=...
# Only namespaces, mounts and processes this script creates are touched.
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

DUR=${DUR:-5}
LAT_DUR=${LAT_DUR:-3}
REPS=${REPS:-3}
IPERF_PIN=${IPERF_PIN:-0,1}
LAT_PIN=${LAT_PIN:-0}
SUBNET=10.79.0.0/24
IPERF_PORT=5201 SP_PORT=11111
TS=$(date +%Y%m%d-%H%M%S)
OUT=${RESULT_FILE:-/tmp/shoal-bench-ports.$TS.txt}
ROWS=(ebpf iptables routed)
TIME_LIMIT=${TIME_LIMIT:-$((120 + REPS * ${#ROWS[@]} * (DUR + LAT_DUR + 20)))}
[[ "$DUR$LAT_DUR$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "DUR, LAT_DUR, REPS must be positive integers"
[ "$(id -u)" = 0 ] || die "must run as root"
for c in ip iperf3 sockperf jq taskset nsenter ss bpftool iptables; do
	command -v "$c" >/dev/null || die "missing $c"
done
[ -x build/shoald ] && [ -x build/shoal ] || die "build/shoald or build/shoal not built (make)"
[ "$(nproc)" -ge 2 ] || IPERF_PIN=0,0

P=sp$$
W=/tmp/$P
SD=$W/shoald
BPFFS=$W/bpffs
NODE=portbench
declare -A T L50 L99

nl_cleanup_install
STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0)
restore_stats() { echo "$STATS0" > /proc/sys/kernel/bpf_stats_enabled; }
nl_defer restore_stats
echo 1 > /proc/sys/kernel/bpf_stats_enabled
nl_watchdog "$TIME_LIMIT"
nl_workdir "$W"
log "published ports: rows ${ROWS[*]}, $REPS reps, iperf3 ${DUR}s, sockperf ${LAT_DUR}s, prefix $P"

nl_bpffs_mount "$BPFFS"
nl_netns_add "$P-h"; nl_netns_add "$P-c"; nl_netns_add "$P-k"
ip link add ext0 netns "$P-h" type veth peer name eth0 netns "$P-k"
ip -n "$P-h" addr add 192.168.79.1/24 dev ext0
ip -n "$P-k" addr add 192.168.79.2/24 dev eth0
ip -n "$P-h" link set ext0 up
ip -n "$P-k" link set eth0 up
ip netns exec "$P-h" sysctl -qw net.ipv4.ip_forward=1
nl_shoald_start "$P-h" "$SD" "$BPFFS" "$NODE" --ip-masq=false || die "shoald did not start"
nl_shoal "$SD" network create --subnet "$SUBNET" benchnet >/dev/null
nl_shoal "$SD" network connect benchnet --netns "$P-c" >/dev/null
CIP=$(ip -n "$P-c" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
IFX=$(ip -n "$P-h" -o link show | awk -F': ' '$2 ~ /^shl/ {print $1}' | head -1)
ip -n "$P-k" route add "$SUBNET" via 192.168.79.1

# publish HOST_PORT CTR_PORT: 0.0.0.0:HOST_PORT/tcp -> container, as ports_publish writes it
publish() {
	# shellcheck disable=SC2046
	bpftool map update pinned "$BPFFS/shoal/$NODE/ports" key 0 0 0 0 $(($1 >> 8)) $(($1 & 255)) 6 0 \
		value $(echo "$CIP" | tr . ' ') $(($2 >> 8)) $(($2 & 255)) 0 0 \
		$((IFX & 255)) $((IFX >> 8 & 255)) 0 0
}
for p in $IPERF_PORT $SP_PORT; do
	publish $((p + 10000)) "$p"
	ip netns exec "$P-h" iptables -t nat -A PREROUTING -i ext0 -p tcp --dport $((p + 20000)) \
		-j DNAT --to-destination "$CIP:$p"
done

nl_bg "$P-c" "$W/iperf3.log" iperf3 -s -B "$CIP" -p "$IPERF_PORT"
nl_bg "$P-c" "$W/sockperf.log" taskset -c "$LAT_PIN" sockperf server --tcp -i "$CIP" -p "$SP_PORT"
nl_wait 5 bash -c "ss -N '$P-c' -Htln 'sport = :$IPERF_PORT' | grep -q ." || die "iperf3 server not listening"
nl_wait 5 bash -c "ss -N '$P-c' -Htln 'sport = :$SP_PORT' | grep -q ." || die "sockperf server not listening"

target() {  # ROW PORT -> address port
	case $1 in
	ebpf) echo "192.168.79.1 $(($2 + 10000))" ;;
	iptables) echo "192.168.79.1 $(($2 + 20000))" ;;
	routed) echo "$CIP $2" ;;
	esac
}
pct() { sed -n "s/.*percentile $1 = *\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
nat_pkts() {
	bpftool -j map dump pinned "$BPFFS/shoal/$NODE/node_stats" | jq '[.[0].formatted.values[].value.nat_dnat_packets] | add'
}

# "run_time_ns run_cnt" of the TC programs on ext0 and the container's veth
bpf_time() {
	local ids id t=0 n=0 j
	ids=$(ip netns exec "$P-h" bpftool -j net show 2>/dev/null |
		jq -r '.[].tc[]? | select(.devname == "ext0" or (.devname | startswith("shl"))) | .id')
	for id in $ids; do
		j=$(bpftool -j prog show id "$id" 2>/dev/null) || continue
		t=$((t + $(jq '.run_time_ns // 0' <<<"$j"))); n=$((n + $(jq '.run_cnt // 0' <<<"$j")))
	done
	echo "$t $n"
}
per_pkt() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[2] - x[2]; if (n <= 0) print "NA"; else printf "%.1f", (y[1] - x[1]) / n }'; }
declare -A NS

D0=$(nat_pkts)
for rep in $(seq "$REPS"); do
	for row in "${ROWS[@]}"; do
		read -r a p <<<"$(target "$row" "$IPERF_PORT")"
		out=$(timeout $((DUR + 30)) ip netns exec "$P-k" iperf3 -c "$a" -p "$p" -t "$DUR" -J -A "$IPERF_PIN" 2>/dev/null) || true
		T[$row,$rep]=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$out" 2>/dev/null || echo NA)
		read -r a p <<<"$(target "$row" "$SP_PORT")"
		b0=$(bpf_time)
		out=$(timeout $((LAT_DUR + 20)) ip netns exec "$P-k" taskset -c "$LAT_PIN" \
			sockperf ping-pong --tcp -i "$a" -p "$p" -t "$LAT_DUR" -m 64 2>&1) || true
		NS[$row,$rep]=$(per_pkt "$b0" "$(bpf_time)")
		L50[$row,$rep]=$(pct 50.000 "$out"); L99[$row,$rep]=$(pct 99.000 "$out")
		log "  rep $rep $row: ${T[$row,$rep]} Gbit/s, p50 ${L50[$row,$rep]:-NA} us, p99 ${L99[$row,$rep]:-NA} us, BPF ns/pkt ${NS[$row,$rep]}"
	done
done
D1=$(nat_pkts)

{
	echo
	echo "# shoal bench, published ports  $(date -u +%FT%TZ)  kernel=$(uname -r)  cpus=$(nproc)  commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "# client ns -> host ns (veth) -> container ns; iperf3 1 TCP stream ${DUR}s pinned -A $IPERF_PIN;"
	echo "# sockperf ping-pong TCP 64 B ${LAT_DUR}s, one-way us, client+server on CPU $LAT_PIN; median of $REPS interleaved reps"
	echo "# packets DNAT'd by from_external during the run: $((D1 - D0))"
	echo "# ns/pkt: mean run time of shoal's TC programs (ext0 + the container's veth) per packet during sockperf"
	printf '%-10s %7s %8s %8s %7s  %s\n' row Gb/s p50_us p99_us ns/pkt "per rep (Gb/s | p50)"
	for r in "${ROWS[@]}"; do
		printf '%-10s %7s %8s %8s %7s  %s | %s\n' "$r" "$(med T "$r")" "$(med L50 "$r")" "$(med L99 "$r")" \
			"$(med NS "$r")" "$(reps T "$r")" "$(reps L50 "$r")"
	done
	echo "# ebpf/iptables throughput: $(ratio "$(med T ebpf)" "$(med T iptables)"), p50 latency: $(ratio "$(med L50 ebpf)" "$(med L50 iptables)")"
} | tee -a "$OUT"
log "table appended to $OUT"
