#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-obs.sh - `make bench`, part 6: the cost of observability.
#
# One shoald (in its own "host" namespace), one local network, two
# endpoints (network namespaces attached with `shoal network connect
# --netns`), endpoint -> endpoint by bpf_redirect_peer. shoald is
# restarted between rows with (state and endpoints are kept):
#
#   flows+events  --flow-accounting=true  --events=drop,flow  (everything on)
#   events        --flow-accounting=false --events=drop,flow  (events armed,
#                 no drops and no flows in the run: what arming costs)
#   acct          --flow-accounting=false --events=none       (ep_stats only)
#   nothing       --accounting=false --flow-accounting=false --events=none
#
# Figures per row (median over REPS interleaved repetitions):
#   iperf3 1 TCP stream, DUR s, pinned (-A client,server) Gbit/s
#   sockperf ping-pong TCP 64 B, LAT_DUR s, one-way latency p50 and p99 in
#     us, client and server pinned to the same CPU (path cost without the
#     VM's cross-CPU wake-up)
#   flows: flows the data path created during the row (0 unless on)
#   events: events the data path sent during the row (0: nothing dropped)
#   ns/pkt: mean run time of the TC programs per packet (kernel BPF run-time
#     statistics, kernel.bpf_stats_enabled=1 for the run, restored after),
#     during the iperf3 run (tp: GSO super-packets) and the sockperf run
#     (rr: 64 B packets): the data path's own cost, free of the throughput
#     noise other load on the machine causes; ns/KB_tp: that time per KB
#     the iperf3 run moved (turned into a CPU share of the bulk run below)
# Targets: flows+events vs acct <= 5% throughput, <= 0.3 us latency;
# events vs acct: nothing measurable (within the rep-to-rep noise shown).
#
# Usage: sudo tools/bench-obs.sh  (or PART=6 tools/bench.sh; make bench runs it)
# Env:   DUR=5 LAT_DUR=3 REPS=3 IPERF_PIN=0,1 LAT_PIN=0
#        RESULT_FILE (table appended there if set, else /tmp/shoal-bench-obs.<ts>.txt)
#        TIME_LIMIT=<computed> KEEP_LOGS=0 SHOALD=build/shoald SHOAL=build/shoal
# Only namespaces, mounts and processes this script creates are touched.
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

DUR=${DUR:-5}
LAT_DUR=${LAT_DUR:-3}
REPS=${REPS:-3}
IPERF_PIN=${IPERF_PIN:-0,1}
LAT_PIN=${LAT_PIN:-0}
KEEP_LOGS=${KEEP_LOGS:-0}
SHOALD=${SHOALD:-build/shoald}
SHOAL=${SHOAL:-build/shoal}
SUBNET=10.78.0.0/24
IPERF_PORT=5201 SP_PORT=11111
TS=$(date +%Y%m%d-%H%M%S)
OUT=${RESULT_FILE:-/tmp/shoal-bench-obs.$TS.txt}
ROWS=(full events acct none)
declare -A LABEL=([full]="flows+events" [events]="events armed" [acct]="accounting only" [none]="nothing")
declare -A ARGS=([full]="--flow-accounting=true --events=drop,flow"
	[events]="--flow-accounting=false --events=drop,flow"
	[acct]="--flow-accounting=false --events=none"
	[none]="--accounting=false --flow-accounting=false --events=none")
TIME_LIMIT=${TIME_LIMIT:-$((120 + REPS * ${#ROWS[@]} * (DUR + 2 * LAT_DUR + 20)))}
[[ "$DUR$LAT_DUR$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "DUR, LAT_DUR, REPS must be positive integers"
[ "$(id -u)" = 0 ] || die "must run as root"
for c in ip iperf3 sockperf jq taskset nsenter ss curl; do
	command -v "$c" >/dev/null || die "missing $c (make deps installs it)"
done
[ -x "$SHOALD" ] && [ -x "$SHOAL" ] || die "$SHOALD or $SHOAL not built (make)"
[ "$(nproc)" -ge 2 ] || IPERF_PIN=0,0
ALL_CPUS=$(nl_cpus_of $$)

P=so$$
W=/tmp/$P
SD=$W/shoald
BPFFS=$W/bpffs
MODE=
NET=obsnet
declare -A T L50 L99 FLOWS EVS FAILED NTP NRR NKB

obs_cleanup() {
	local rc=$?
	set +e
	nl_shoald_stop
	bench_cleanup_run "$SD/data" "$SD/exec"
	return "$rc"
}
nl_cleanup_install obs_cleanup
STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0)
restore_stats() { echo "$STATS0" > /proc/sys/kernel/bpf_stats_enabled; }
nl_defer restore_stats
echo 1 > /proc/sys/kernel/bpf_stats_enabled
nl_watchdog "$TIME_LIMIT"
nl_workdir "$W"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "part 6 (observability cost): rows ${ROWS[*]}, $REPS reps, iperf3 ${DUR}s, sockperf ${LAT_DUR}s, prefix $P"

api() { curl -sf --max-time 10 --unix-socket "$SD/shoal.sock" "http://localhost$1"; }
metric() { api /metrics | sed -n "s/^$1{[^}]*} //p" | head -1; }

mode() {  # mode ROW: (re)start shoald configured for ROW
	[ "$MODE" = "$1" ] && return 0
	nl_shoald_stop
	# shellcheck disable=SC2086
	nl_shoald_start "$P-h" "$SD" "$BPFFS" obsbench ${ARGS[$1]} || return 1
	MODE=$1
	[ -z "${IPA:-}" ] || nl_ping "$P-b" "$IPA" 5 || log "  WARNING: no ping after restarting shoald for ${LABEL[$1]}"
}

nl_bpffs_mount "$BPFFS"
nl_netns_add "$P-h"; nl_netns_add "$P-a"; nl_netns_add "$P-b"
mode full || die "shoald did not start"
nl_shoal "$SD" network create --subnet "$SUBNET" -o com.docker.network.driver.mtu=1500 "$NET" >/dev/null 2>&1 ||
	nl_shoal "$SD" network create --subnet "$SUBNET" "$NET" >/dev/null
nl_shoal "$SD" network connect "$NET" --netns "$P-a" >/dev/null
nl_shoal "$SD" network connect "$NET" --netns "$P-b" >/dev/null
IPA=$(nl_shoal "$SD" network inspect "$NET" | jq -r --arg n "$P-a" '.[0].Containers[] | select(.Name == $n) | .IPv4Address' | cut -d/ -f1)
nl_ping "$P-b" "$IPA" 5 || die "no ping from $P-b to $IPA"
nl_bg "$P-a" "$W/iperf3.log" iperf3 -s -B "$IPA" -p "$IPERF_PORT"
IPERF_SRV=$NL_BG_PID
nl_bg "$P-a" "$W/sockperf.log" sockperf server --tcp -i "$IPA" -p "$SP_PORT"
SP_SRV=$NL_BG_PID
nl_wait 5 bash -c "ss -N '$P-a' -Htln 'sport = :$IPERF_PORT' | grep -q ." || die "iperf3 server not listening"
nl_wait 5 bash -c "ss -N '$P-a' -Htln 'sport = :$SP_PORT' | grep -q ." || die "sockperf server not listening"

# "run_time_ns run_cnt" summed over the TC programs on shoal's host veths
bpf_time() {
	local ids id t=0 n=0 j
	ids=$(ip netns exec "$P-h" bpftool -j net show 2>/dev/null | jq -r '.[].tc[]? | select(.devname | startswith("shl")) | .id')
	for id in $ids; do
		j=$(bpftool -j prog show id "$id" 2>/dev/null) || continue
		t=$((t + $(jq '.run_time_ns // 0' <<<"$j"))); n=$((n + $(jq '.run_cnt // 0' <<<"$j")))
	done
	echo "$t $n"
}
per_pkt() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[2] - x[2]; if (n <= 0) print "NA"; else printf "%.1f", (y[1] - x[1]) / n }'; }

pct() { sed -n "s/.*percentile $1 = *\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }

for rep in $(seq "$REPS"); do
	for row in "${ROWS[@]}"; do
		[ -z "${FAILED[$row]-}" ] || continue
		if ! mode "$row"; then FAILED[$row]="shoald did not start"; continue; fi
		ev0=$(metric shoal_events_sent_total); fl0=$(metric shoal_flows_created_total)
		taskset -a -p -c "$ALL_CPUS" "$IPERF_SRV" >/dev/null
		b0=$(bpf_time)
		out=$(timeout $((DUR + 30)) ip netns exec "$P-b" iperf3 -c "$IPA" -p "$IPERF_PORT" -t "$DUR" -J -A "$IPERF_PIN" 2>/dev/null) || true
		T[$row,$rep]=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$out" 2>/dev/null || echo NA)
		b1=$(bpf_time)
		NTP[$row,$rep]=$(per_pkt "$b0" "$b1")
		NKB[$row,$rep]=$(awk -v a="$b0" -v b="$b1" -v by="$(jq -r '.end.sum_received.bytes // 0' <<<"$out" 2>/dev/null || echo 0)" \
			'BEGIN { split(a, x, " "); split(b, y, " "); if (by + 0 <= 0) print "NA"; else printf "%.3f", (y[1] - x[1]) / (by / 1024) }')
		taskset -a -p -c "$LAT_PIN" "$SP_SRV" >/dev/null
		out=$(timeout $((LAT_DUR + 20)) ip netns exec "$P-b" taskset -c "$LAT_PIN" \
			sockperf ping-pong --tcp -i "$IPA" -p "$SP_PORT" -t "$LAT_DUR" -m 64 2>&1) || true
		b2=$(bpf_time)
		NRR[$row,$rep]=$(per_pkt "$b1" "$b2")
		L50[$row,$rep]=$(pct 50.000 "$out"); L99[$row,$rep]=$(pct 99.000 "$out")
		FLOWS[$row,$rep]=$(awk -v a="$fl0" -v b="$(metric shoal_flows_created_total)" 'BEGIN { if (a == "" || b == "") print "NA"; else print b - a }')
		EVS[$row,$rep]=$(awk -v a="$ev0" -v b="$(metric shoal_events_sent_total)" 'BEGIN { if (a == "" || b == "") print "NA"; else print b - a }')
		log "  rep $rep ${LABEL[$row]}: ${T[$row,$rep]} Gbit/s, p50 ${L50[$row,$rep]:-NA} us, p99 ${L99[$row,$rep]:-NA} us, flows ${FLOWS[$row,$rep]}, events ${EVS[$row,$rep]}, BPF ns/pkt tp ${NTP[$row,$rep]} rr ${NRR[$row,$rep]}"
	done
done

declare -A MT M50 M99 MNT MNR MKB
for r in "${ROWS[@]}"; do
	MT[$r]=$(med T "$r"); M50[$r]=$(med L50 "$r"); M99[$r]=$(med L99 "$r")
	MNT[$r]=$(med NTP "$r"); MNR[$r]=$(med NRR "$r"); MKB[$r]=$(med NKB "$r")
done
loss() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.1f", (1 - a / b) * 100 }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA") print "NA"; else printf "%.3f", a - b }'; }
target() {  # desc value op limit
	local res
	res=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { if (v == "NA" || v == "") { print "n/a "; exit }
		ok = (op == "<=") ? v <= l : v >= l; print ok ? "PASS" : "MISS" }')
	printf '  %s  %-60s %8s  (target %s %s)\n' "$res" "$1" "$2" "$3" "$4"
}
{
	echo
	echo "# shoal bench, part 6 (observability cost)  $(date -u +%FT%TZ)  kernel=$(uname -r)  cpus=$(nproc)  commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "# loadavg at start: $LOAD0  at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# endpoint -> endpoint on one shoal local network (bpf_redirect_peer); iperf3 1 TCP stream ${DUR}s pinned -A $IPERF_PIN;"
	echo "# sockperf ping-pong TCP 64 B ${LAT_DUR}s, one-way us, client+server on CPU $LAT_PIN; median of $REPS interleaved reps"
	printf '%-18s %7s %8s %8s %9s %9s %8s %6s %6s  %s\n' row Gb/s p50_us p99_us ns/pkt_tp ns/pkt_rr ns/KB_tp flows events "per rep (Gb/s | p50 | ns/pkt rr)"
	for r in "${ROWS[@]}"; do
		if [ -n "${FAILED[$r]-}" ]; then printf '%-18s FAILED: %s\n' "${LABEL[$r]}" "${FAILED[$r]}"; continue; fi
		printf '%-18s %7s %8s %8s %9s %9s %8s %6s %6s  %s | %s | %s\n' "${LABEL[$r]}" "${MT[$r]}" "${M50[$r]}" "${M99[$r]}" \
			"${MNT[$r]}" "${MNR[$r]}" "${MKB[$r]}" "$(med FLOWS "$r")" "$(med EVS "$r")" "$(reps T "$r")" "$(reps L50 "$r")" "$(reps NRR "$r")"
	done
	echo
	echo "costs (vs accounting only; throughput lost in %, latency added in us; negative = faster, noise)"
	echo "  flows+events: throughput $(loss "${MT[full]}" "${MT[acct]}")%, p50 $(added "${M50[full]}" "${M50[acct]}") us, p99 $(added "${M99[full]}" "${M99[acct]}") us; BPF per packet +$(added "${MNR[full]}" "${MNR[acct]}") ns (64 B), +$(added "${MNT[full]}" "${MNT[acct]}") ns (GSO)"
	echo "  events armed: throughput $(loss "${MT[events]}" "${MT[acct]}")%, p50 $(added "${M50[events]}" "${M50[acct]}") us; BPF per packet +$(added "${MNR[events]}" "${MNR[acct]}") ns (64 B)"
	echo "  accounting (vs nothing): throughput $(loss "${MT[acct]}" "${MT[none]}")%, p50 $(added "${M50[acct]}" "${M50[none]}") us"
	# The data path's CPU added per KB moved, at accounting-only's rate,
	# as a share of the two CPUs the bulk run keeps busy: what flow
	# tracking takes from a CPU-bound transfer, free of run-to-run noise.
	CPU_COST=$(awk -v a="${MKB[full]}" -v b="${MKB[acct]}" -v g="${MT[acct]}" 'BEGIN {
		if (a == "NA" || b == "NA" || g == "NA") print "NA"; else printf "%.2f", (a - b) * (g * 1e9 / 8 / 1024) / 2e9 * 100 }')
	echo "  flows+events: data-path CPU added per KB moved $(added "${MKB[full]}" "${MKB[acct]}") ns = ${CPU_COST}% of the 2 CPUs of the bulk run at ${MT[acct]} Gbit/s"
	echo "targets"
	target "flow tracking + events: throughput lost (%)" "$(loss "${MT[full]}" "${MT[acct]}")" '<=' 5
	target "flow tracking + events: CPU share added to the bulk run (%)" "$CPU_COST" '<=' 5
	target "flow tracking + events: latency p50 added (us)" "$(added "${M50[full]}" "${M50[acct]}")" '<=' 0.3
	target "flow tracking + events: BPF time added per packet, 64 B (us)" "$(awk -v v="$(added "${MNR[full]}" "${MNR[acct]}")" 'BEGIN { if (v == "NA") print "NA"; else printf "%.3f", v / 1000 }')" '<=' 0.3
	target "events armed, no drops: latency p50 added (us)" "$(added "${M50[events]}" "${M50[acct]}")" '<=' 0.1
	target "events armed, no drops: BPF time added per packet (ns)" "$(added "${MNR[events]}" "${MNR[acct]}")" '<=' 5
	echo "  (throughput: compare the per-rep spread above before reading the % as a cost; other load on the machine moves it by far more)"
} | tee -a "$OUT"
log "table saved to $OUT"
rc=0
for r in "${ROWS[@]}"; do [ -z "${FAILED[$r]-}" ] || rc=1; done
exit $rc
