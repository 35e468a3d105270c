#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-gossip.sh - `make bench`, part 4: shoal's gossip against
# HashiCorp memberlist, same run, one table.
# (tools/bench.sh runs it after parts 1-3; it also runs on its own.)
#
# Both sides: N members in one process on 127.0.0.1, AES-256-GCM, the LAN
# timings (probe 1 s, probe timeout 500 ms, gossip 200 ms, fan-out 3,
# suspicion mult 4, retransmit mult 4, push/pull 30 s; the effective config
# of each side is printed and checked).  Per N in GOSSIP_NS, interleaved
# (memberlist N=8, shoal N=8, memberlist N=32, ...) so drift hits both:
#
#   memberlist  ../shared/bench/memberlist/run.sh (read-only there; memberlist
#               0.2.2 from Debian, built offline in GOPATH mode) with
#               -sizes N -configs lan; its -json output is parsed
#   shoal       build/shoal-gossip-sim -n N ... -j FILE (same broadcast
#               count, failure trials, bandwidth window, seed)
#
# Figures per N (each side's own definitions: see the two programs' headers):
#   join s      members 1..N-1 join member 0 at once -> every member sees N alive
#   dis p50/p99 a new 64 B message (memberlist user message / shoal endpoint
#               entry) until the last of the N-1 others has it, ms
#   never       broadcasts that never reached everyone / broadcasts
#               (memberlist: stopped, no member queued it any more; shoal:
#               not everyone within 10 s)
#   fail s      median over trials of a member's crash (no leave) -> every
#               other member marked it dead
#   idle B/s    per member, steady state, no user traffic: UDP payload B/s
#               in the window + max(TCP B/s in the window, one push/pull
#               exchange / push/pull interval); payload incl. encryption,
#               no IP/UDP/TCP headers (the same formula for both sides)
# Targets: shoal dissemination p99 <= 0.75x memberlist's at every N; no
# shoal broadcast that never reaches everyone; shoal failure detection <=
# memberlist's; shoal idle bandwidth per member <= memberlist's.
#
# If memberlist cannot run here (its Debian packages cannot be installed,
# its build or run fails) the shoal side still runs and is compared with
# the figures recorded in ../shared/bench/memberlist/result.json, labelled
# "recorded" (NOT the same run) with the reason.
#
# Usage: sudo tools/bench-gossip.sh   (root only to apt-get install
#        golang-go golang-github-hashicorp-memberlist-dev when missing)
# Env:   GOSSIP_NS="8 32 64"  cluster sizes (2..64; commas or spaces)
#        GOSSIP_BCAST=20 GOSSIP_FAIL=3 GOSSIP_BW=10 (s) GOSSIP_SEED=1
#        GOSSIP_ML=run      run | recorded (skip memberlist, use result.json)
#        ML_DIR=<repo>/../shared/bench/memberlist
#        ML_TIME_LIMIT=300  run.sh's TIME_LIMIT per N (its build included)
#        SIM=build/shoal-gossip-sim
#        RESULT_FILE=/tmp/shoal-bench-gossip.<ts>.txt  the table is appended
#        TIME_LIMIT=<computed> KEEP_LOGS=0
# Only processes and the work dir this script creates are touched (plus
# run.sh's own build cache, /tmp/memberlist-bench-build by default).
# Exit status: 0 if both sides have figures for every N (memberlist's may
# be the recorded ones: see the table), 1 otherwise (table printed anyway).
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

GOSSIP_NS=${GOSSIP_NS:-8 32 64}
GOSSIP_BCAST=${GOSSIP_BCAST:-20}
GOSSIP_FAIL=${GOSSIP_FAIL:-3}
GOSSIP_BW=${GOSSIP_BW:-10}
GOSSIP_SEED=${GOSSIP_SEED:-1}
GOSSIP_ML=${GOSSIP_ML:-run}
# ../shared next to the checkout; for a linked worktree or a clone elsewhere,
# next to the main repository (git's common dir), then /work/shared.
find_ml_dir() {
	local c common
	common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
	for c in "$ROOT/../shared" ${common:+"$common/../../shared"} /work/shared; do
		if [ -d "$c/bench/memberlist" ]; then
			(cd "$c/bench/memberlist" && pwd)
			return
		fi
	done
	echo "$ROOT/../shared/bench/memberlist"
}
ML_DIR=${ML_DIR:-$(find_ml_dir)}
ML_TIME_LIMIT=${ML_TIME_LIMIT:-300}
SIM=${SIM:-build/shoal-gossip-sim}
KEEP_LOGS=${KEEP_LOGS:-0}
TS=$(date +%Y%m%d-%H%M%S)
RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench-gossip.$TS.txt}
ML_PKGS=(golang-go golang-github-hashicorp-memberlist-dev)

NS=()
for n in ${GOSSIP_NS//,/ }; do
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 64 ] || die "GOSSIP_NS: '$n' is not a size in 2..64"
	[[ " ${NS[*]-} " == *" $n "* ]] || NS+=("$n")
done
[ ${#NS[@]} -gt 0 ] || die "GOSSIP_NS is empty"
for v in "$GOSSIP_BCAST" "$GOSSIP_FAIL" "$GOSSIP_BW" "$GOSSIP_SEED" "$ML_TIME_LIMIT"; do
	[[ $v =~ ^[0-9]+$ ]] || die "GOSSIP_BCAST, GOSSIP_FAIL, GOSSIP_BW, GOSSIP_SEED, ML_TIME_LIMIT must be integers"
done
[ "$GOSSIP_BCAST" -ge 1 ] && [ "$GOSSIP_BCAST" -le 64 ] || die "GOSSIP_BCAST must be in 1..64 (the simulator's limit)"
[ "$GOSSIP_FAIL" -le 8 ] && [ "$GOSSIP_BW" -ge 1 ] || die "GOSSIP_FAIL must be in 0..8, GOSSIP_BW >= 1"
case $GOSSIP_ML in run | recorded) ;; *) die "GOSSIP_ML must be run or recorded" ;; esac
# worst case per N of the simulator: 10 s join + broadcasts (10 s + 3 s drain
# each) + failure trials (60 s each) + window; memberlist bounded by run.sh
SIM_LIMIT=$((60 + GOSSIP_BCAST * 13 + GOSSIP_FAIL * 61 + GOSSIP_BW))
TIME_LIMIT=${TIME_LIMIT:-$((600 + ${#NS[@]} * (ML_TIME_LIMIT + 40 + SIM_LIMIT)))}

for c in jq awk timeout; do
	command -v "$c" >/dev/null || die "missing $c (make deps installs it)"
done
[ -x "$SIM" ] || die "$SIM not built (make bench builds it)"
"$SIM" -h 2>&1 | grep -q -- '-j' || die "$SIM has no -j (JSON) option: rebuild it (make $SIM)"

# ------------------------------------------------------------ world
P=sg$$
W=/tmp/$P
CHILD=    # pid of the running measurement (timeout(1) around it)

# kill_tree PID: TERM the process and all its descendants (by pid: run.sh's
# program runs in a process group of its own, under its own timeout(1)),
# then KILL what is left after 5 s
kill_tree() {
	local pids=() todo=("$1") p c i
	[ -n "$1" ] || return 0
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}; todo=("${todo[@]:1}")
		kill -0 "$p" 2>/dev/null || continue
		pids+=("$p")
		for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "${pids[@]}" 2>/dev/null || break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait "$1" 2>/dev/null || true
}
bench_cleanup() {
	local rc=$?
	set +e
	log "cleanup"
	kill_tree "$CHILD"
	bench_cleanup_run
	log "cleanup done"
	return "$rc"
}
nl_cleanup_install bench_cleanup
nl_watchdog "$TIME_LIMIT"
nl_workdir "$W"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "shoal bench part 4 (gossip vs memberlist): N = ${NS[*]}, $GOSSIP_BCAST broadcasts, $GOSSIP_FAIL failure trials, ${GOSSIP_BW}s window, seed $GOSSIP_SEED; time limit ${TIME_LIMIT}s; work dir $W"
log "kernel $(uname -r), $(nproc) CPUs, loadavg $LOAD0"

# run_bg LIMIT OUT ERR CMD...: run CMD under timeout(1) in the background and
# wait for it (so the watchdog's TERM is handled at once); rc in RUN_RC
run_bg() {
	local lim=$1 out=$2 err=$3; shift 3
	timeout -k 10 "$lim" "$@" </dev/null >"$out" 2>"$err" 3>&- &
	CHILD=$!
	RUN_RC=0
	wait "$CHILD" || RUN_RC=$?
	CHILD=
}

# ------------------------------------------------------------ memberlist setup
ML_MODE=$GOSSIP_ML            # run | recorded
ML_WHY=                       # why recorded figures are used
[ "$GOSSIP_ML" = recorded ] && ML_WHY="GOSSIP_ML=recorded"
ML_VER="?" GO_VER="?"
if [ "$ML_MODE" = run ]; then
	if [ ! -x "$ML_DIR/run.sh" ] || [ ! -f "$ML_DIR/main.go" ]; then
		ML_MODE=recorded ML_WHY="$ML_DIR/run.sh or main.go not found"
	fi
fi
if [ "$ML_MODE" = run ]; then
	missing=()
	for p in "${ML_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		if [ "$(id -u)" != 0 ]; then
			ML_MODE=recorded ML_WHY="Debian packages ${missing[*]} missing and not root to install them"
		else
			log "installing ${missing[*]} (memberlist's run.sh needs them; not part of make deps)"
			export DEBIAN_FRONTEND=noninteractive
			timeout 240 apt-get update -qq >"$W/apt.log" 2>&1 || log "apt-get update failed (continuing): $(tail -n 2 "$W/apt.log" | tr '\n' ' ')"
			if ! timeout 300 apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$W/apt.log" 2>&1; then
				ML_MODE=recorded
				ML_WHY="apt-get install ${missing[*]} failed: $(grep -E '^(E:|Err)' "$W/apt.log" | tail -n 2 | tr '\n' ' ')"
			fi
		fi
	fi
fi
if [ "$ML_MODE" = run ]; then
	ML_VER=$(dpkg-query -W -f='${Version}' golang-github-hashicorp-memberlist-dev 2>/dev/null || echo ?)
	GO_VER=$(go version 2>/dev/null | cut -d' ' -f3 || echo ?)
	log "memberlist $ML_VER, $GO_VER: runs interleaved with shoal"
else
	log "WARNING: memberlist will NOT run (${ML_WHY}); comparing with the recorded figures in $ML_DIR/result.json"
fi

# ------------------------------------------------------------ measurement
declare -A ML_SRC ML_JSON SH_JSON FAILED_ML FAILED_SH
ML_CFG_LINE=
run_memberlist() {  # N
	local n=$1 j
	j="$W/ml-$n.json"
	log "memberlist N=$n: run.sh -sizes $n -configs lan (log $W/ml-$n.log)"
	run_bg $((ML_TIME_LIMIT + 30)) "$W/ml-$n.out" "$W/ml-$n.log" \
		env TIME_LIMIT="$ML_TIME_LIMIT" RESULT_FILE="$W/ml-$n.txt" JSON_FILE="$j" \
		"$ML_DIR/run.sh" -sizes "$n" -configs lan -bcast "$GOSSIP_BCAST" -fail "$GOSSIP_FAIL" \
		-bw "${GOSSIP_BW}s" -seed "$GOSSIP_SEED" -log "$W/ml-$n.memberlist.log"
	if [ -s "$j" ] && jq -e --argjson n "$n" '.rows[] | select(.config == "lan" and .n == $n and (.status | startswith("ok")))' "$j" >/dev/null 2>&1; then
		ML_JSON[$n]=$j ML_SRC[$n]=same-run
		[ "$RUN_RC" = 0 ] || log "  memberlist N=$n: run.sh rc $RUN_RC, but the row is complete"
		[ -n "$ML_CFG_LINE" ] || ML_CFG_LINE=$(jq -r '.header[] | select(startswith("# config lan"))' "$j" 2>/dev/null | head -1)
	else
		FAILED_ML[$n]="run.sh rc $RUN_RC: $( (grep -E 'FATAL|not found|cannot|error' "$W/ml-$n.log" || tail -n 3 "$W/ml-$n.log") 2>/dev/null | tail -n 2 | tr '\n' ' ' | cut -c1-240)"
		log "  memberlist N=$n FAILED: ${FAILED_ML[$n]}"
	fi
}
run_shoal() {  # N
	local n=$1 j
	j="$W/sim-$n.json"
	log "shoal N=$n: $SIM -n $n -b $GOSSIP_BCAST -f $GOSSIP_FAIL -w $GOSSIP_BW -s $GOSSIP_SEED (log $W/sim-$n.log)"
	run_bg "$SIM_LIMIT" "$W/sim-$n.out" "$W/sim-$n.log" \
		"$SIM" -n "$n" -b "$GOSSIP_BCAST" -f "$GOSSIP_FAIL" -w "$GOSSIP_BW" -s "$GOSSIP_SEED" -j "$j"
	if [ "$RUN_RC" = 0 ] && jq -e --argjson n "$n" '.rows[] | select(.n == $n)' "$j" >/dev/null 2>&1; then
		SH_JSON[$n]=$j
		jq -e --argjson n "$n" '.rows[] | select(.n == $n) | .status == "ok"' "$j" >/dev/null ||
			log "  shoal N=$n status: $(jq -r --argjson n "$n" '.rows[] | select(.n == $n) | .status' "$j")"
	else
		FAILED_SH[$n]="rc $RUN_RC$([ "$RUN_RC" = 124 ] && echo " (timeout ${SIM_LIMIT}s)"): $(tail -n 2 "$W/sim-$n.log" 2>/dev/null | tr '\n' ' ' | cut -c1-200)"
		log "  shoal N=$n FAILED: ${FAILED_SH[$n]}"
	fi
}
for n in "${NS[@]}"; do
	[ "$ML_MODE" = run ] && run_memberlist "$n"
	run_shoal "$n"
done

# memberlist rows that did not run (or failed): the recorded figures
REC_JSON=$ML_DIR/result.json
REC_WHEN=$(jq -r '.header[0] // ""' "$REC_JSON" 2>/dev/null | sed -n 's/^# memberlist bench \([^ ]*\).*/\1/p')
for n in "${NS[@]}"; do
	[ -n "${ML_JSON[$n]-}" ] && continue
	if jq -e --argjson n "$n" '.rows[] | select(.config == "lan" and .n == $n and (.status | startswith("ok")))' "$REC_JSON" >/dev/null 2>&1; then
		ML_JSON[$n]=$REC_JSON ML_SRC[$n]=recorded
		[ -n "$ML_CFG_LINE" ] || ML_CFG_LINE=$(jq -r '.header[] | select(startswith("# config lan"))' "$REC_JSON" 2>/dev/null | head -1)
		log "memberlist N=$n: using the RECORDED figures ($REC_JSON, ${REC_WHEN:-?}): ${FAILED_ML[$n]:-$ML_WHY}"
	fi
done

# ------------------------------------------------------------ figures
# one line per side and N: join_s p50 p99 never total fail_s idle udp tcp pp status
ML_ROW='.rows[] | select(.config == "lan" and .n == $n)'
ml_fig() {  # N
	jq -r --argjson n "$1" "$ML_ROW"' |
		[ (if .join_converged then ((.join_ms | round) / 1000 | tostring) else ">\(.join_timeout_s)s" end),
		  (.bcast_p50_ms | round), (.bcast_p99_ms | round),
		  .bcast_failed, ((.bcast_all_ms | length) + .bcast_failed),
		  (.fail_all_median_ms / 1000 * 100 | round / 100),
		  ((.udp_bytes_per_member_s + ([.tcp_bytes_per_member_s, .pushpull_amortized_bytes_per_member_s] | max)) | round),
		  (.udp_bytes_per_member_s | round), (.tcp_bytes_per_member_s | round),
		  (.pushpull_amortized_bytes_per_member_s | round), .status ] | @tsv' "${ML_JSON[$1]}"
}
sh_fig() {  # N
	jq -r --argjson n "$1" '.rows[] | select(.n == $n) |
		[ (if .join_converged then ((.join_ms | round) / 1000 | tostring) else ">10s" end),
		  (.bcast_p50_ms | round), (.bcast_p99_ms | round),
		  .bcast_failed, .bcast_total,
		  (if .fail_trials > 0 then (.fail_all_median_ms / 1000 * 100 | round / 100) else "NA" end),
		  ((.udp_bytes_per_member_s + ([.tcp_bytes_per_member_s, .pushpull_amortized_bytes_per_member_s] | max)) | round),
		  (.udp_bytes_per_member_s | round), (.tcp_bytes_per_member_s | round),
		  (.pushpull_amortized_bytes_per_member_s | round), (.status | gsub("\t"; " ")) ] | @tsv' "${SH_JSON[$1]}"
}
declare -A MJ M50 M99 MNV MTOT MF MI MU MT MP MST SJ S50 S99 SNV STOT SF SI SU ST SP SST
for n in "${NS[@]}"; do
	if [ -n "${ML_JSON[$n]-}" ]; then
		IFS=$'\t' read -r MJ[$n] M50[$n] M99[$n] MNV[$n] MTOT[$n] MF[$n] MI[$n] MU[$n] MT[$n] MP[$n] MST[$n] < <(ml_fig "$n")
	fi
	if [ -n "${SH_JSON[$n]-}" ]; then
		IFS=$'\t' read -r SJ[$n] S50[$n] S99[$n] SNV[$n] STOT[$n] SF[$n] SI[$n] SU[$n] ST[$n] SP[$n] SST[$n] < <(sh_fig "$n")
		# no delivered broadcast: no percentile
		[ "${SNV[$n]}" != "${STOT[$n]}" ] || S50[$n]=NA S99[$n]=NA
	fi
done

# (its own ratio, not stats.sh's: anything but a number is NA)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'; }
target() {  # description value op limit
	local desc=$1 val=$2 op=$3 lim=$4 res
	res=$(awk -v v="$val" -v l="$lim" -v op="$op" 'BEGIN {
		if (v !~ /^[0-9.]+$/) { print "n/a "; exit }
		ok = (op == ">=") ? v >= l : (op == "<=") ? v <= l : (op == "==") ? v == l : (op == ">") ? v > l : v < l
		print ok ? "PASS" : "MISS" }')
	printf '  %s  %-58s %8s  (target %s %s)\n' "$res" "$desc" "$val" "$op" "$lim"
}
v() { local x=${1-}; echo "${x:-NA}"; }
pp_bytes() {  # JSON N: bytes of one push/pull exchange
	[ -n "$1" ] || { echo NA; return 0; }
	jq -r --argjson n "$2" '[.rows[] | select(.n == $n and (.config // "lan") == "lan")][0].pushpull_exchange_bytes // "NA"' "$1" 2>/dev/null || echo NA
}

# the effective timings of both sides must be the same
SIM_CFG=
for n in "${NS[@]}"; do [ -n "${SH_JSON[$n]-}" ] && { SIM_CFG=$(jq -r '.config | "probe \(.probe_interval_ms) ms, probe timeout \(.probe_timeout_ms) ms, gossip \(.gossip_interval_ms) ms, fan-out \(.gossip_nodes), indirect \(.indirect_checks), suspicion mult \(.suspicion_mult) (max \(.suspicion_max_mult)), retransmit mult \(.retransmit_mult), push/pull \(.push_pull_interval_ms / 1000) s, MTU \(.mtu), digest AE quiet \(.ae_quiet_ms) ms, eager rounds \(.eager_delay_ms) ms"' "${SH_JSON[$n]}"); SIM_T=$(jq -r '.config | "\(.probe_interval_ms)/\(.gossip_interval_ms)/\(.gossip_nodes)"' "${SH_JSON[$n]}"); break; }; done
ML_T=$(sed -n 's/.*ProbeInterval=\([0-9]*\)s .*GossipInterval=\([0-9]*\)ms GossipNodes=\([0-9]*\) .*/\1000\/\2\/\3/p' <<<"$ML_CFG_LINE")
TIMINGS_OK=1
if [ -n "${SIM_T-}" ] && [ -n "$ML_T" ] && [ "$SIM_T" != "$ML_T" ]; then
	TIMINGS_OK=0
	log "WARNING: timings differ: memberlist probe/gossip/fan-out $ML_T, shoal $SIM_T"
fi
[ "${SIM_T-}" = 1000/200/3 ] || log "WARNING: shoal timings (probe/gossip ms, fan-out) are ${SIM_T-?}, not 1000/200/3"

ANY_REC=0
for n in "${NS[@]}"; do [ "${ML_SRC[$n]-}" = recorded ] && ANY_REC=1; done
{
	echo
	echo "# shoal bench, part 4 (gossip vs HashiCorp memberlist)  $(date -u +%FT%TZ)  host=$(hostname)  kernel=$(uname -r)  cpus=$(nproc)"
	echo "# loadavg at start: $LOAD0  at end: $(cut -d' ' -f1-3 /proc/loadavg)  (all members of a cluster in one process on 127.0.0.1: compare orders of magnitude, not digits)"
	if [ "$ML_MODE" = run ]; then
		echo "# memberlist $ML_VER (Debian golang-github-hashicorp-memberlist-dev), $GO_VER: $ML_DIR/run.sh -sizes N -configs lan -bcast $GOSSIP_BCAST -fail $GOSSIP_FAIL -bw ${GOSSIP_BW}s -seed $GOSSIP_SEED"
	fi
	if [ "$ANY_REC" = 1 ]; then
		echo "# WARNING: memberlist rows marked 'recorded' are the figures of $REC_JSON (${REC_WHEN:-?}), NOT this run: ${ML_WHY:-run failed at that N (see below)}"
	fi
	echo "# shoal: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- user/gossip tools/gossip-sim.c 2>/dev/null || echo '+uncommitted'): $SIM -n N -b $GOSSIP_BCAST -f $GOSSIP_FAIL -w $GOSSIP_BW -s $GOSSIP_SEED"
	echo "# memberlist config: ${ML_CFG_LINE#\# config }"
	echo "# shoal config:      ${SIM_CFG:-?}"
	echo "# timings (probe ms/gossip ms/fan-out): memberlist ${ML_T:-?}, shoal ${SIM_T:-?}$([ "$TIMINGS_OK" = 1 ] || echo '  *** DIFFERENT: targets not comparable ***')"
	echo "# per N, interleaved: memberlist N, shoal N, memberlist next N, ... (ml = memberlist, sh = shoal)"
	printf '%3s %-10s | %-13s | %-11s | %-11s | %-11s | %-11s | %-11s | %s\n' \
		N memberlist "join s" "dis p50 ms" "dis p99 ms" "never" "fail s" "idle B/s" "ratios sh/ml: join p99 fail idle"
	printf '%3s %-10s | %6s %6s | %5s %5s | %5s %5s | %5s %5s | %5s %5s | %5s %5s | %6s %6s %6s %6s\n' \
		'' '' ml sh ml sh ml sh ml sh ml sh ml sh join p99 fail idle
	for n in "${NS[@]}"; do
		printf '%3s %-10s | %6s %6s | %5s %5s | %5s %5s | %5s %5s | %5s %5s | %5s %5s | %6s %6s %6s %6s\n' \
			"$n" "$(v "${ML_SRC[$n]-}")" \
			"$(v "${MJ[$n]-}")" "$(v "${SJ[$n]-}")" \
			"$(v "${M50[$n]-}")" "$(v "${S50[$n]-}")" \
			"$(v "${M99[$n]-}")" "$(v "${S99[$n]-}")" \
			"${MNV[$n]-NA}/${MTOT[$n]-NA}" "${SNV[$n]-NA}/${STOT[$n]-NA}" \
			"$(v "${MF[$n]-}")" "$(v "${SF[$n]-}")" \
			"$(v "${MI[$n]-}")" "$(v "${SI[$n]-}")" \
			"$(ratio "${SJ[$n]-}" "${MJ[$n]-}")" "$(ratio "${S99[$n]-}" "${M99[$n]-}")" \
			"$(ratio "${SF[$n]-}" "${MF[$n]-}")" "$(ratio "${SI[$n]-}" "${MI[$n]-}")"
	done
	for n in "${NS[@]}"; do
		[ -n "${FAILED_SH[$n]-}" ] && echo "# N=$n shoal FAILED: ${FAILED_SH[$n]}"
		[ -n "${FAILED_ML[$n]-}" ] && echo "# N=$n memberlist FAILED: ${FAILED_ML[$n]}"
		[ -n "${ML_JSON[$n]-}${FAILED_ML[$n]-}" ] || echo "# N=$n memberlist: no figures (${ML_WHY:-?}; none recorded for N=$n)"
		[ -z "${MST[$n]-}" ] || [ "${MST[$n]}" = ok ] || echo "# N=$n memberlist status: ${MST[$n]}"
		[ -z "${SST[$n]-}" ] || [ "${SST[$n]}" = ok ] || echo "# N=$n shoal status: ${SST[$n]}"
	done
	echo "# idle = UDP B/s (window) + max(TCP B/s in the window, push/pull bytes / interval) per member; per N, ml udp+tcp+pp / sh udp+tcp+pp:"
	for n in "${NS[@]}"; do
		echo "#   N=$n: ml $(v "${MU[$n]-}")+$(v "${MT[$n]-}")+$(v "${MP[$n]-}")  sh $(v "${SU[$n]-}")+$(v "${ST[$n]-}")+$(v "${SP[$n]-}");" \
			"one push/pull exchange: ml $(pp_bytes "${ML_JSON[$n]-}" "$n") B, sh $(pp_bytes "${SH_JSON[$n]-}" "$n") B" \
			"(shoal's carries its gossip table too: the broadcast phase's entries)"
	done
	echo "# join s: '>10s' = not every member saw N alive within the join timeout; never = broadcasts that never reached every"
	echo "#   member / broadcasts (ml: stopped, queued nowhere any more; sh: not everyone within 10 s); p50/p99 over the delivered ones"
	echo "#   (nearest rank: p99 of 20 = max); fail s = median over trials, crash -> every other member marked it dead"
	echo "# raw outputs: $( [ "$KEEP_LOGS" = 1 ] && echo "$W" || echo "KEEP_LOGS=1 keeps them" )"
	echo
	echo "targets$([ "$ANY_REC" = 1 ] && echo " (memberlist side partly or wholly RECORDED, not this run)")"
	for n in "${NS[@]}"; do
		tag=; [ "${ML_SRC[$n]-}" = recorded ] && tag=" [recorded ml]"
		target "N=$n dissemination p99 shoal / memberlist$tag" "$(ratio "${S99[$n]-}" "${M99[$n]-}")" '<=' 0.75
		target "N=$n shoal broadcasts never delivered to everyone" "$(v "${SNV[$n]-}")" '==' 0
		target "N=$n failure detection shoal / memberlist$tag" "$(ratio "${SF[$n]-}" "${MF[$n]-}")" '<=' 1.00
		target "N=$n idle bandwidth per member shoal / memberlist$tag" "$(ratio "${SI[$n]-}" "${MI[$n]-}")" '<=' 1.00
	done
} | tee -a "$RESULT_FILE"
log "table appended to $RESULT_FILE"

rc=0
for n in "${NS[@]}"; do
	[ -n "${SH_JSON[$n]-}" ] && [ -n "${ML_JSON[$n]-}" ] || rc=1
done
exit $rc
