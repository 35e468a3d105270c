#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-containers.sh - `make bench`, part 7: containers.
# (tools/bench.sh runs it after the other parts; it also runs on its own.)
#
# The same image (tools/mkimage.sh: busybox-static, 2 layers) loaded into a
# shoald and into a private dockerd (Debian's docker.io, tools/lib/dockerd.sh),
# each in a network namespace of its own, both on overlay2.  Rows (median and
# p90 over REPS repetitions, shoal and docker interleaved):
#
#   run --rm true          `run --rm IMAGE true` on the default network
#                          (shoal0, BPF data plane / docker0, Linux bridge)
#   run --rm --network none  the same without networking
#   first packet           time from the start of `run -d --rm IMAGE ping -c 1 GW`
#                          to the capture timestamp (tcpdump -tt, in the engine's
#                          namespace) of the container's first echo request at the
#                          host: what a new container waits for its network
#
# The target of issue 6: shoal's `run --rm true` <= 0.2x docker's.
#
# Usage: sudo tools/bench-containers.sh
# Env:   REPS=15           repetitions per row and engine
#        DOCKER=1          0: shoal only (no ratios)
#        RESULT_FILE=/tmp/shoal-bench-containers.<ts>.txt  the table is appended
#        KEEP_LOGS=0       1: keep the work dir
#        SHOALD=build/shoald SHOAL=build/shoal
# Only namespaces, mounts and processes this script creates are touched.
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"
# shellcheck source=tools/lib/dockerd.sh
. "$HERE/lib/dockerd.sh"

REPS=${REPS:-15}
DOCKER=${DOCKER:-1}
KEEP_LOGS=${KEEP_LOGS:-0}
SHOALD=${SHOALD:-build/shoald}
SHOAL=${SHOAL:-build/shoal}
TS=$(date +%Y%m%d-%H%M%S)
RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench-containers.$TS.txt}
export SHOALD SHOAL
[[ "$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "REPS must be a positive integer"
[ "$(id -u)" = 0 ] || die "run as root"
for b in "$SHOALD" "$SHOAL" "$(dirname "$SHOALD")/shoal-shim"; do
	[ -x "$b" ] || die "$b not built (make)"
done
command -v tcpdump >/dev/null || die "tcpdump missing (make deps)"
if [ "$DOCKER" = 1 ] && ! command -v dockerd >/dev/null; then
	log "dockerd not installed: shoal only"
	DOCKER=0
fi

P=sbc$$
W=/tmp/shoal-bench-containers.$$
nl_cleanup_install
nl_workdir "$W"
[ "$KEEP_LOGS" = 1 ] && nl_undefer nl_rm_tree "$W"
nl_watchdog "${TIME_LIMIT:-$((300 + REPS * 40))}"
SD=$W/shoald DD=$W/docker BPFFS=$W/bpffs
mkdir -p "$SD" "$DD"
# shims (and their containers) of ours still running at the end: by pid
kill_shims() {
	local f pid
	for f in "$SD"/exec/containers/*/init.pid "$SD"/exec/containers/*/shim.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	done
}
nl_defer kill_shims

log "shoal bench part 7 (containers): $REPS reps, work dir $W"
IMG=shoal-bench/run:1
IMG_ID=$(tools/mkimage.sh -o "$W/img.tar" -t "$IMG")

nl_netns_add "$P-s"
nl_bpffs_mount "$BPFFS"
nl_shoald_start "$P-s" "$SD" "$BPFFS" bench --storage-driver overlay2 || die "shoald did not start"
nl_shoal "$SD" load -i "$W/img.tar" >/dev/null || die "shoal load failed"
if [ "$DOCKER" = 1 ]; then
	nl_netns_add "$P-d"
	# the default bridge (docker0, in our namespace), no iptables: the
	# container path Docker users get, minus the NAT rules
	if nl_dockerd_start "$P-d" "$DD" "$DD/root" --storage-driver overlay2 --bridge= &&
		nl_docker "$DD" load -i "$W/img.tar" >/dev/null; then
		DOCKER_VER=$(dockerd --version | awk '{print $3}' | tr -d ,)
	else
		log "dockerd unusable here: shoal only"
		DOCKER=0
	fi
fi
ENGINES=(shoal)
[ "$DOCKER" = 1 ] && ENGINES+=(docker)

cli() {  # engine args...
	local e=$1; shift
	if [ "$e" = shoal ]; then nl_shoal "$SD" "$@"; else nl_docker "$DD" "$@"; fi
}
ns_of() { if [ "$1" = shoal ]; then echo "$P-s"; else echo "$P-d"; fi; }
# gateway and subnet of the engine's default network
net_of() {
	if [ "$1" = shoal ]; then
		nl_shoal "$SD" network inspect shoal0 | jq -r '.[0].IPAM.Config[0] | "\(.Gateway) \(.Subnet)"'
	else
		# docker's IPAM shows no gateway for the default bridge: docker0's address
		echo "$(ip -n "$P-d" -4 -j addr show dev docker0 | jq -r '.[0].addr_info[0].local')" \
			"$(nl_docker "$DD" network inspect bridge | jq -r '.[0].IPAM.Config[0].Subnet')"
	fi
}
now_ns() { date +%s%N; }

declare -A S  # S[row,engine] = "ms ms ms ..."
rec() { S[$1,$2]="${S[$1,$2]:-} $3"; }

# one `run --rm IMG true` (extra args before the image); ms or fails
run_true() {
	local e=$1 t0 t1; shift
	t0=$(now_ns)
	cli "$e" run --rm "$@" "$IMG" true >"$W/last.out" 2>&1 || return 1
	t1=$(now_ns)
	echo $(((t1 - t0) / 1000000))
}

# first packet: tcpdump in the engine's namespace, then run -d; ms or fails
first_packet() {
	local e=$1 gw=$2 subnet=$3 ns t0 t1 td id i
	ns=$(ns_of "$e")
	: >"$W/td.out"
	ip netns exec "$ns" tcpdump -tt -n -l -c 1 -i any \
		"icmp[icmptype] = icmp-echo and src net $subnet and dst host $gw" \
		>"$W/td.out" 2>"$W/td.err" &
	td=$!
	nl_defer nl_kill_pid "$td" 1
	nl_wait 10 grep -q 'listening on' "$W/td.err" || return 1
	t0=$(now_ns)
	id=$(cli "$e" run -d --rm "$IMG" ping -c 3 -W 1 "$gw" 2>"$W/last.out") || return 1
	for i in $(seq 1 100); do kill -0 "$td" 2>/dev/null || break; sleep 0.05; done
	nl_kill_pid "$td" 1
	nl_undefer nl_kill_pid "$td" 1
	cli "$e" wait "$id" >/dev/null 2>&1 || true
	t1=$(awk 'NR == 1 { split($1, a, "."); printf "%s%s", a[1], substr(a[2] "000000000", 1, 9) }' "$W/td.out")
	[ -n "$t1" ] && [ "$t1" -gt "$t0" ] || return 1
	echo $(((t1 - t0) / 1000000))
}

declare -A GW SUBNET
for e in "${ENGINES[@]}"; do
	# warm-up: the default network exists, caches are hot
	run_true "$e" >/dev/null || die "$e: run --rm $IMG true failed: $(tail -n 3 "$W/last.out")"
	read -r GW[$e] SUBNET[$e] < <(net_of "$e")
	[ -n "${GW[$e]}" ] && [ "${GW[$e]}" != null ] || die "$e: no gateway on the default network"
	log "$e: default network gateway ${GW[$e]} subnet ${SUBNET[$e]}"
done

ROWS=(true none ttfp)
declare -A LABEL=([true]="run --rm true" [none]="run --rm --network none" [ttfp]="first packet")
for ((r = 1; r <= REPS; r++)); do
	for row in "${ROWS[@]}"; do
		for e in "${ENGINES[@]}"; do
			case $row in
			true) v=$(run_true "$e") || v= ;;
			none) v=$(run_true "$e" --network none) || v= ;;
			ttfp) v=$(first_packet "$e" "${GW[$e]}" "${SUBNET[$e]}") || v= ;;
			esac
			if [ -z "$v" ]; then
				log "  rep $r $row $e: FAILED: $(tail -n 2 "$W/last.out" 2>/dev/null | tr '\n' ' ')"
				continue
			fi
			rec "$row" "$e" "$v"
		done
	done
	log "rep $r/$REPS done"
done

# leftovers: --rm must have removed every container
left=$(nl_shoal "$SD" ps -aq | wc -l)

pct() {  # p values...: nearest-rank percentile
	local p=$1; shift
	printf '%s\n' "$@" | sort -n | awk -v p="$p" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }'
}
{
	echo
	echo "# shoal bench, part 7 (containers)  $(date -u +%FT%TZ)  kernel=$(uname -r)  cpus=$(nproc)"
	echo "# image $IMG ($IMG_ID, tools/mkimage.sh); overlay2 on both; $REPS reps, interleaved; ms"
	echo "# shoal: $(git rev-parse --short HEAD 2>/dev/null || echo ?); docker: ${DOCKER_VER:-not run} (private dockerd, docker0 bridge, --iptables=false)"
	printf '%-26s | %8s %8s | %8s %8s | %s\n' row "shoal p50" "p90" "docker p50" "p90" "shoal/docker p50"
	for row in "${ROWS[@]}"; do
		# shellcheck disable=SC2086
		sp50=$(pct 50 ${S[$row,shoal]:-}) sp90=$(pct 90 ${S[$row,shoal]:-})
		dp50=- dp90=- ratio=-
		if [ "$DOCKER" = 1 ]; then
			# shellcheck disable=SC2086
			dp50=$(pct 50 ${S[$row,docker]:-}) dp90=$(pct 90 ${S[$row,docker]:-})
			[ "$sp50" != - ] && [ "$dp50" != - ] && [ "$dp50" -gt 0 ] &&
				ratio=$(awk -v a="$sp50" -v b="$dp50" 'BEGIN { printf "%.3f", a / b }')
		fi
		printf '%-26s | %8s %8s | %8s %8s | %s\n' "${LABEL[$row]}" "$sp50" "$sp90" "$dp50" "$dp90" "$ratio"
		[ "$row" = true ] && TRUE_RATIO=$ratio
	done
	echo "# containers left behind by --rm in shoal: $left"
	echo
	echo "targets"
	if [ "${TRUE_RATIO:--}" = - ]; then
		echo "  N/A   run --rm true shoal / docker (docker not measured)"
	elif awk -v r="$TRUE_RATIO" 'BEGIN { exit !(r <= 0.2) }'; then
		printf '  PASS  %-50s %6s  (target <= 0.20)\n' "run --rm true shoal / docker" "$TRUE_RATIO"
	else
		printf '  MISS  %-50s %6s  (target <= 0.20)\n' "run --rm true shoal / docker" "$TRUE_RATIO"
	fi
} | tee -a "$RESULT_FILE"
log "table appended to $RESULT_FILE"
