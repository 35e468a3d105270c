#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-overlay.sh - `make bench`, part 2: cross-host overlay.
# (tools/bench.sh runs it after part 1; it also runs on its own.)
#
# Two "hosts" (network namespaces hA, hB) joined by an underlay veth (MTU
# 1500), one "container" namespace behind each host.  Every path gets its
# own pair of hosts, so no path's programs or tunings touch another's.
#
#   raw        raw veth: hA <-> hB over the underlay veth itself (the limit)
#   kvx        kernel vxlan + bridge, built by hand the way Docker's overlay
#              driver builds it (copied from shared/bench/docker-overlay-
#              baseline.sh): a vxlan device created in the host namespace
#              (its UDP socket lives there), moved into a sandbox namespace
#              with bridge br0, "proxy l2miss l3miss", static FDB + neighbour
#              entries; container veth into br0, MTU 1450
#   shoal      shoal eBPF overlay: one shoald per host namespace (nsenter
#              --net, root mount namespace, private bpffs per host,
#              --underlay-interface), the same overlay network (VNI) on
#              both, one endpoint per host (`network connect --netns --ip`),
#              peers added both ways; MTU 1450 (underlay - 50)
#   kvx+rps    kvx with RPS (rps_cpus=RPS_MASK) on the RPS_DEVS veths
#   shoal+rps  shoal with the same RPS tuning on its veths (shl* host ends,
#              container eth0, underlay).  Measured on 2 vCPUs (kernel 6.18):
#              RPS on any of these veths (heth, ul, both, all three) cut
#              4-stream throughput of both overlays (shoal ~27-32 -> ~17-19
#              Gbit/s) and made pinned latency bimodal (8 -> 25-45 us when a
#              flow hashes to the other CPU); it only brought retransmits to
#              ~0.  So shoald has no RPS option; these rows keep the evidence.
#   docker     the real Docker swarm overlay, measured by running
#              shared/bench/docker-overlay-baseline.sh (DOCKER=1) after the
#              paths above; its docker-overlay row is folded in (it measures
#              1 stream unpinned and latency pinned only; its raw/kvx rows of
#              the same run are shown for calibration)
#
# Figures per path (median over REPS interleaved reps):
#   iperf3 TCP, DUR s: 1 stream and 4 streams (-P 4), pinned (-A C,S) and
#     unpinned; retransmits (end.sum_sent.retransmits) of the 1-stream pinned
#     and 4-stream unpinned runs; CPU ms per Gbit transferred (busy jiffies of
#     all CPUs from /proc/stat during the run / Gbit; includes whatever else
#     runs on the machine) for 1-stream pinned and 4-stream unpinned
#   sockperf ping-pong TCP 64 B, LAT_DUR s, one-way latency (RTT/2) us: p50
#     and p99 pinned (client and server on CPU LAT_PIN) and unpinned
#
# Usage: sudo tools/bench-overlay.sh
# Env:   OV_PATHS="raw kvx shoal kvx+rps shoal+rps"  (subset/order; not PATHS,
#                          which is part 1's)
#        DOCKER=1|0        run the Docker swarm baseline (default 1 if the
#                          script exists and dockerd is installed or
#                          installable; it takes 5-9 minutes)
#        DOCKER_BASELINE=../shared/bench/docker-overlay-baseline.sh
#        DUR=8 LAT_DUR=3 REPS=3 IPERF_PIN=0,1 LAT_PIN=0
#        RPS_MASK=3        hex CPU mask for the +rps rows
#        RPS_DEVS="heth ul" veths that get RPS_MASK in the +rps rows:
#                          ceth = container eth0 (both sides), heth = host
#                          end of the container veth (shl* / the br0 port),
#                          ul = underlay veths (both hosts)
#        SHOALD_ARGS=      extra shoald flags (both hosts)
#        RESULT_FILE=/tmp/shoal-bench-overlay.<ts>.txt  TIME_LIMIT=<computed>
#        KEEP_LOGS=0 SHOALD=build/shoald SHOAL=build/shoal
# Only namespaces, links, mounts and processes this script creates are
# touched; all traffic stays inside its namespaces.  Exit status: 0 if every
# requested path was measured, 1 otherwise (the table is printed anyway).
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

DUR=${DUR:-8}
LAT_DUR=${LAT_DUR:-3}
REPS=${REPS:-3}
OV_PATHS=${OV_PATHS:-raw kvx shoal kvx+rps shoal+rps}
IPERF_PIN=${IPERF_PIN:-0,1}
LAT_PIN=${LAT_PIN:-0}
RPS_MASK=${RPS_MASK:-3}
RPS_DEVS=${RPS_DEVS:-heth ul}
KEEP_LOGS=${KEEP_LOGS:-0}
SHOALD=${SHOALD:-build/shoald}
SHOAL=${SHOAL:-build/shoal}
SHOALD_ARGS=${SHOALD_ARGS:-}
DOCKER_BASELINE=${DOCKER_BASELINE:-$(realpath -m "$ROOT/../shared/bench/docker-overlay-baseline.sh")}
IPERF_PORT=5201 SP_PORT=11111
TS=$(date +%Y%m%d-%H%M%S)
RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench-overlay.$TS.txt}
export SHOALD SHOAL

docker_possible() {
	[ -r "$DOCKER_BASELINE" ] || return 1
	command -v dockerd >/dev/null && return 0
	apt-cache policy docker.io 2>/dev/null | grep -q 'Candidate: [0-9]'
}
if [ -z "${DOCKER:-}" ]; then
	if docker_possible; then DOCKER=1; else DOCKER=0; fi
fi

SEL=()
for p in $OV_PATHS; do
	case $p in
	raw | kvx | shoal | kvx+rps | shoal+rps) ;;
	docker) DOCKER=1; continue ;;
	*) die "unknown path '$p' in OV_PATHS (raw kvx shoal kvx+rps shoal+rps docker)" ;;
	esac
	[[ " ${SEL[*]-} " == *" $p "* ]] || SEL+=("$p")
done
[ ${#SEL[@]} -gt 0 ] || [ "$DOCKER" = 1 ] || die "OV_PATHS is empty"
[[ "$DUR$LAT_DUR$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "DUR, LAT_DUR, REPS must be positive integers"
[[ "$RPS_MASK" =~ ^[0-9a-fA-F,]+$ ]] || die "RPS_MASK must be a hex CPU mask"
for d in $RPS_DEVS; do case $d in ceth | heth | ul) ;; *) die "unknown RPS_DEVS entry '$d' (ceth heth ul)" ;; esac; done
DOCKER_LIMIT=600
TIME_LIMIT=${TIME_LIMIT:-$((180 + REPS * ${#SEL[@]} * (4 * DUR + 2 * LAT_DUR + 25) + (DOCKER == 1 ? DOCKER_LIMIT + 60 : 0)))}

declare -A LABEL=([raw]="raw veth" [kvx]="kernel vxlan+bridge" [shoal]="shoal eBPF overlay"
	[kvx+rps]="kernel vxlan+br +rps" [shoal+rps]="shoal +rps" [docker]="docker swarm overlay")
declare -A CLI_NS SRV_NS SRV_IP IPERF_PID SP_PID FAILED WORLD
declare -A T1P T1U T4P T4U R1P R4U C1P C4U L50 L99 LU50 LU99

[ "$(id -u)" = 0 ] || die "must run as root"
for c in ip bridge iperf3 sockperf jq taskset nsenter ss ping awk; do
	command -v "$c" >/dev/null || die "missing $c (make deps installs it)"
done
NCPU=$(nproc)
ALL_CPUS=$(nl_cpus_of $$)
if [ "$NCPU" -lt 2 ]; then
	log "only $NCPU CPU: pinned iperf3 runs use CPU 0 for both ends"
	IPERF_PIN=0,0
fi
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------ world
P=so$$
W=/tmp/$P
DOCKER_PID=

ov_cleanup() {
	local rc=$?
	set +e
	log "cleanup"
	bench_cleanup_run "$W"/sd*/data "$W"/sd*/exec
	log "cleanup done"
	return "$rc"
}
nl_cleanup_install ov_cleanup
nl_watchdog "$TIME_LIMIT"
nl_workdir "$W"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "shoal bench part 2 (overlay): paths '${SEL[*]-}', docker=$DOCKER, $REPS reps, iperf3 ${DUR}s, sockperf ${LAT_DUR}s, +rps: mask $RPS_MASK on '$RPS_DEVS', prefix $P, time limit ${TIME_LIMIT}s"
log "kernel $(uname -r), $NCPU CPUs, loadavg $LOAD0"

has() { [[ " ${SEL[*]-} " == *" $1 "* ]]; }
wait_listen() { nl_wait 5 bash -c "ss -N '$1' -Htln 'sport = :$2' | grep -q ."; }

start_servers() {  # world ns ip
	local w=$1 ns=$2 ip=$3
	nl_bg "$ns" "$W/iperf3-$w.log" iperf3 -s -B "$ip" -p "$IPERF_PORT"
	IPERF_PID[$w]=$NL_BG_PID
	nl_bg "$ns" "$W/sockperf-$w.log" sockperf server --tcp -i "$ip" -p "$SP_PORT"
	SP_PID[$w]=$NL_BG_PID
	wait_listen "$ns" "$IPERF_PORT" || die "$w: iperf3 server not listening (see $W/iperf3-$w.log)"
	wait_listen "$ns" "$SP_PORT" || die "$w: sockperf server not listening"
}

# underlay NSA NSB IFA IFB PREFIX: two hosts joined by a veth, PREFIX.1/.2
underlay() {
	nl_netns_add "$1"; nl_netns_add "$2"
	nl_veth "$1" "$3" "$2" "$4" 1500
	nl_addr "$1" "$3" "$5.1/24"
	nl_addr "$2" "$4" "$5.2/24"
	nl_ping "$2" "$5.1" || die "underlay $1 <-> $2: no ping"
}

# rps devices of a world: "ns dev" lines for the roles in RPS_DEVS
declare -A RPS_LIST
rps_write() {  # ns dev mask
	ip netns exec "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus" 2>/dev/null ||
		log "  WARNING: cannot set rps_cpus=$3 on $1/$2"
}
rps_apply() {  # world mask
	local line
	while read -r line; do
		[ -n "$line" ] || continue
		# shellcheck disable=SC2086
		rps_write $line "$2"
	done <<<"${RPS_LIST[$1]-}"
}

NEED_RAW=0 NEED_KVX=0 NEED_SHOAL=0
has raw && NEED_RAW=1
{ has kvx || has kvx+rps; } && NEED_KVX=1
{ has shoal || has shoal+rps; } && NEED_SHOAL=1

if [ "$NEED_RAW" = 1 ]; then
	log "raw veth: $P-rA (192.168.221.1) <-veth-> $P-rB (192.168.221.2)"
	underlay "$P-rA" "$P-rB" "${P}ra" "${P}rb" 192.168.221
	CLI_NS[raw]=$P-rB SRV_IP[raw]=192.168.221.1 WORLD[raw]=raw
	start_servers raw "$P-rA" 192.168.221.1
fi

if [ "$NEED_KVX" = 1 ]; then
	log "kernel vxlan+bridge: $P-kcA [10.222.0.2] -> $P-koA [br0 + vxlan 4242] -> $P-kA =underlay= $P-kB -> $P-koB -> $P-kcB [10.222.0.3]"
	underlay "$P-kA" "$P-kB" "${P}ka" "${P}kb" 192.168.222
	for ns in "$P-koA" "$P-koB" "$P-kcA" "$P-kcB"; do nl_netns_add "$ns"; done
	# as shared/bench/docker-overlay-baseline.sh (vx_side), which mirrors libnetwork
	vx_side() {  # hostns ovlns ctrns myip mymac vtep_remote peer_ip peer_mac tag
		local hns=$1 ons=$2 cns=$3 ip=$4 mac=$5 rvtep=$6 pip=$7 pmac=$8 t=$9
		ip -n "$hns" link add "${P}v$t" type vxlan id 4242 dstport 4789 proxy l2miss l3miss
		ip -n "$hns" link set "${P}v$t" netns "$ons"
		ip -n "$ons" link add br0 type bridge
		ip -n "$ons" addr add 10.222.0.1/24 dev br0
		ip -n "$ons" link set "${P}v$t" mtu 1450 master br0 up
		ip -n "$ons" link add "${P}e$t" type veth peer name eth0 netns "$cns"
		ip -n "$ons" link set "${P}e$t" mtu 1450 master br0 up
		ip -n "$ons" link set br0 up
		ip -n "$cns" link set eth0 address "$mac" mtu 1450 up
		ip -n "$cns" addr add "$ip/24" dev eth0
		bridge -n "$ons" fdb add "$pmac" dev "${P}v$t" dst "$rvtep" self permanent
		ip -n "$ons" neigh add "$pip" lladdr "$pmac" dev "${P}v$t" nud permanent
	}
	vx_side "$P-kA" "$P-koA" "$P-kcA" 10.222.0.2 02:42:0a:de:00:02 192.168.222.2 10.222.0.3 02:42:0a:de:00:03 A
	vx_side "$P-kB" "$P-koB" "$P-kcB" 10.222.0.3 02:42:0a:de:00:03 192.168.222.1 10.222.0.2 02:42:0a:de:00:02 B
	nl_ping "$P-kcB" 10.222.0.2 || die "kernel vxlan: $P-kcB cannot reach 10.222.0.2"
	RPS_LIST[kvx]=$(for d in $RPS_DEVS; do case $d in
		ceth) echo "$P-kcA eth0"; echo "$P-kcB eth0" ;;
		heth) echo "$P-koA ${P}eA"; echo "$P-koB ${P}eB" ;;
		ul) echo "$P-kA ${P}ka"; echo "$P-kB ${P}kb" ;;
		esac; done)
	for p in kvx kvx+rps; do CLI_NS[$p]=$P-kcB SRV_IP[$p]=10.222.0.2 WORLD[$p]=kvx; done
	start_servers kvx "$P-kcA" 10.222.0.2
fi

shoal_fail() {
	local p
	log "shoal: FAILED: $*"
	for p in shoal shoal+rps; do has "$p" && FAILED[$p]=$*; done
	return 0
}
sh_cli() {  # A|B args...
	nl_shoal "$W/sd$1" "${@:2}"
}
shoal_setup() {
	local h out ip mac peer pip pmac uip args=()
	log "shoal: $P-scA [10.223.0.2] -> shoald $P-sA =underlay= shoald $P-sB -> $P-scB [10.223.0.3], VNI 4300"
	[ -x "$SHOALD" ] && [ -x "$SHOAL" ] || { shoal_fail "$SHOALD or $SHOAL not built"; return 0; }
	underlay "$P-sA" "$P-sB" "${P}sa" "${P}sb" 192.168.223
	nl_netns_add "$P-scA"; nl_netns_add "$P-scB"
	# shellcheck disable=SC2206
	[ -n "$SHOALD_ARGS" ] && args=($SHOALD_ARGS)
	for h in A B; do
		nl_bpffs_mount "$W/bpf$h"
		if ! nl_shoald_start "$P-s$h" "$W/sd$h" "$W/bpf$h" "$P-s$h" \
			--underlay-interface "${P}s${h,,}" "${args[@]}"; then
			shoal_fail "shoald in $P-s$h did not start: $(grep -v '^===' "$W/sd$h/shoald.log" | tail -n 3 | tr '\n' ' ')"
			return 0
		fi
		if ! out=$(sh_cli "$h" network create -d overlay --subnet 10.223.0.0/24 --opt vni=4300 ovl 2>&1); then
			shoal_fail "host $h: network create: $out"; return 0
		fi
	done
	declare -A MAC
	for h in A B; do
		ip=10.223.0.$([ "$h" = A ] && echo 2 || echo 3)
		if ! out=$(sh_cli "$h" network connect ovl --netns "$P-sc$h" --ip "$ip" 2>&1); then
			shoal_fail "host $h: network connect: $out"; return 0
		fi
		mac=$(ip -n "$P-sc$h" -j link show dev eth0 | jq -r '.[0].address')
		MAC[$h]=$mac
	done
	for h in A B; do
		if [ "$h" = A ]; then peer=B pip=10.223.0.3 uip=192.168.223.2; else peer=A pip=10.223.0.2 uip=192.168.223.1; fi
		pmac=${MAC[$peer]}
		if ! out=$(sh_cli "$h" network peer add ovl --ip "$pip" --mac "$pmac" --node "$uip" 2>&1); then
			shoal_fail "host $h: network peer add: $out"; return 0
		fi
	done
	log "  MTU: container eth0 $(nl_mtu "$P-scA" eth0), underlay $(nl_mtu "$P-sA" "${P}sa")"
	if ! nl_ping "$P-scB" 10.223.0.2 5; then
		shoal_fail "no ping from $P-scB to 10.223.0.2 over the shoal overlay"; return 0
	fi
	RPS_LIST[shoal]=$(for d in $RPS_DEVS; do case $d in
		ceth) echo "$P-scA eth0"; echo "$P-scB eth0" ;;
		heth) for h in A B; do ip -n "$P-s$h" -j link show | jq -r --arg ns "$P-s$h" '.[] | select(.ifname | startswith("shl")) | "\($ns) \(.ifname)"'; done ;;
		ul) echo "$P-sA ${P}sa"; echo "$P-sB ${P}sb" ;;
		esac; done)
	for p in shoal shoal+rps; do CLI_NS[$p]=$P-scB SRV_IP[$p]=10.223.0.2 WORLD[$p]=shoal; done
	start_servers shoal "$P-scA" 10.223.0.2
}
[ "$NEED_SHOAL" = 1 ] && shoal_setup

# ------------------------------------------------------------ measurement
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

iperf_once() {  # path [iperf3 args...] -> JSON on stdout (empty on failure)
	local path=$1 out try; shift
	for try in 1 2 3; do
		out=$(timeout $((DUR + 30)) ip netns exec "${CLI_NS[$path]}" iperf3 -c "${SRV_IP[$path]}" \
			-p "$IPERF_PORT" -t "$DUR" -J "$@" 2>/dev/null) || true
		if jq -e '.end.sum_received.bits_per_second' <<<"$out" >/dev/null 2>&1; then
			echo "$out"; return 0
		fi
		log "  iperf3 $path $* try $try failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null | head -c 200)"
		sleep 1
	done
}
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$1" 2>/dev/null || echo NA; }
retr() { jq -r '.end.sum_sent.retransmits // "NA"' <<<"$1" 2>/dev/null || echo NA; }
# cpu_ms_per_gbit BUSY0 BUSY1 JSON: CPU ms (all CPUs) per Gbit received
cpu_per() {
	local gbit
	gbit=$(jq -r '.end.sum_received.bytes * 8 / 1e9' <<<"$3" 2>/dev/null) || { echo NA; return 0; }
	awk -v a="$1" -v b="$2" -v g="$gbit" -v hz="$CLK_TCK" 'BEGIN { if (g + 0 == 0) print "NA"; else printf "%.1f", (b - a) / hz * 1000 / g }'
}
# iperf_run path rep TPUT_ARR RETR_ARR|- CPU_ARR|- pinned(0|1) [iperf3 args]
iperf_run() {
	local path=$1 r=$2 tn=$3 rn=$4 cn=$5 pin=$6 out b0 b1 w=${WORLD[$1]}; shift 6
	local -n t_=$tn
	taskset -a -p -c "$ALL_CPUS" "${IPERF_PID[$w]}" >/dev/null
	[ "$pin" = 1 ] && set -- "$@" -A "$IPERF_PIN"
	b0=$(cpu_busy)
	out=$(iperf_once "$path" "$@")
	b1=$(cpu_busy)
	t_[$path,$r]=NA
	if [ "$rn" != - ]; then local -n r_=$rn; r_[$path,$r]=NA; fi
	if [ "$cn" != - ]; then local -n c_=$cn; c_[$path,$r]=NA; fi
	[ -n "$out" ] || return 0
	t_[$path,$r]=$(gbps "$out")
	[ "$rn" != - ] && r_[$path,$r]=$(retr "$out")
	[ "$cn" != - ] && c_[$path,$r]=$(cpu_per "$b0" "$b1" "$out")
	taskset -a -p -c "$ALL_CPUS" "${IPERF_PID[$w]}" >/dev/null
	return 0
}
pct() { sed -n "s/.*percentile $1 = *\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
run_lat() {  # path rep
	local path=$1 r=$2 out w=${WORLD[$1]}
	taskset -a -p -c "$LAT_PIN" "${SP_PID[$w]}" >/dev/null
	out=$(timeout $((LAT_DUR + 20)) ip netns exec "${CLI_NS[$path]}" taskset -c "$LAT_PIN" \
		sockperf ping-pong --tcp -i "${SRV_IP[$path]}" -p "$SP_PORT" -t "$LAT_DUR" -m 64 2>&1) || true
	L50[$path,$r]=$(pct 50.000 "$out"); L99[$path,$r]=$(pct 99.000 "$out")
	[ -n "${L50[$path,$r]}" ] || log "  sockperf $path (pinned) failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	taskset -a -p -c "$ALL_CPUS" "${SP_PID[$w]}" >/dev/null
	out=$(timeout $((LAT_DUR + 20)) ip netns exec "${CLI_NS[$path]}" \
		sockperf ping-pong --tcp -i "${SRV_IP[$path]}" -p "$SP_PORT" -t "$LAT_DUR" -m 64 2>&1) || true
	LU50[$path,$r]=$(pct 50.000 "$out"); LU99[$path,$r]=$(pct 99.000 "$out")
}

RUN=()
for p in "${SEL[@]}"; do [ -z "${FAILED[$p]-}" ] && RUN+=("$p"); done
[ ${#RUN[@]} -gt 0 ] && log "measuring ${RUN[*]} x $REPS reps (interleaved)"
for rep in $(seq "$REPS"); do
	for path in "${RUN[@]}"; do
		w=${WORLD[$path]}
		if [[ $path == *+rps ]]; then rps_apply "$w" "$RPS_MASK"; else rps_apply "$w" 0; fi
		iperf_run "$path" "$rep" T1P R1P C1P 1
		iperf_run "$path" "$rep" T1U - - 0
		iperf_run "$path" "$rep" T4P - - 1 -P 4
		iperf_run "$path" "$rep" T4U R4U C4U 0 -P 4
		run_lat "$path" "$rep"
		rps_apply "$w" 0
		log "  rep $rep ${LABEL[$path]}: 1 stream ${T1P[$path,$rep]} pinned (retr ${R1P[$path,$rep]}, ${C1P[$path,$rep]} cpu ms/Gb), ${T1U[$path,$rep]} unpinned; 4 streams ${T4P[$path,$rep]} pinned, ${T4U[$path,$rep]} unpinned (retr ${R4U[$path,$rep]}, ${C4U[$path,$rep]} cpu ms/Gb); p50 ${L50[$path,$rep]:-NA} us pinned (p99 ${L99[$path,$rep]:-NA}), ${LU50[$path,$rep]:-NA} unpinned (p99 ${LU99[$path,$rep]:-NA})"
	done
done

# ------------------------------------------------------------ docker
DOCKER_STATUS=skipped
declare -A DK
if [ "$DOCKER" = 1 ]; then
	if [ ! -r "$DOCKER_BASELINE" ]; then
		DOCKER_STATUS="FAILED: $DOCKER_BASELINE not found"
	else
		log "docker swarm overlay: running $DOCKER_BASELINE (DUR=$DUR LAT_DUR=$LAT_DUR REPS=$REPS LAT_PIN=$LAT_PIN; 5-9 minutes; log $W/docker.log)"
		DKRES=$W/docker-result.txt
		DUR=$DUR LAT_DUR=$LAT_DUR REPS=$REPS LAT_PIN=$LAT_PIN RESULT_FILE=$DKRES TIME_LIMIT=$DOCKER_LIMIT \
			bash "$DOCKER_BASELINE" </dev/null >"$W/docker.log" 2>&1 3>&- &
		DOCKER_PID=$!
		nl_defer nl_kill_pid "$DOCKER_PID" 60
		wait "$DOCKER_PID" && drc=0 || drc=$?
		nl_undefer nl_kill_pid "$DOCKER_PID" 60
		if [ -s "$DKRES" ] && awk '$1 == "docker-overlay" && $2 ~ /^[0-9.]+$/ { ok = 1 } END { exit !ok }' "$DKRES"; then
			DOCKER_STATUS=ok
			# path Gbit/s ratio per-rep tcp_p50 tcp_p99 udp_p50 ul_bytes
			for row in docker-overlay raw-veth kernel-vxlan; do
				read -r _ DK[$row,t] _ DK[$row,reps] DK[$row,l50] DK[$row,l99] _ < <(awk -v r="$row" '$1 == r' "$DKRES")
			done
			DK[version]=$(sed -n 's/^# \(Docker version [^;]*\);.*/\1/p' "$DKRES" | head -1)
			DK[mtu]=$(sed -n 's/.*MTU: docker container \([0-9?]*\).*/\1/p' "$DKRES" | head -1)
		else
			DOCKER_STATUS="FAILED (exit $drc): $(grep -E 'FATAL|WATCHDOG|error' "$W/docker.log" | tail -n 2 | tr '\n' ' ')"
		fi
		log "docker baseline: $DOCKER_STATUS"
	fi
fi

# ------------------------------------------------------------ report
target() {
	local desc=$1 val=$2 op=$3 lim=$4 res
	res=$(awk -v v="$val" -v l="$lim" -v op="$op" 'BEGIN {
		if (v == "NA" || v == "") { print "n/a "; exit }
		ok = (op == ">=") ? v >= l : (op == "<=") ? v <= l : (op == ">") ? v > l : v < l
		print ok ? "PASS" : "MISS" }')
	printf '  %s  %-62s %8s  (target %s %s)\n' "$res" "$desc" "$val" "$op" "$lim"
}

declare -A M
ROWS=("${SEL[@]}")
for p in "${SEL[@]}"; do
	for a in T1P T1U T4P T4U R1P R4U C1P C4U L50 L99 LU50 LU99; do M[$a,$p]=$(med $a "$p"); done
done
if [ "$DOCKER" = 1 ]; then
	ROWS+=(docker)
	for a in T1P T1U T4P T4U R1P R4U C1P C4U L50 L99 LU50 LU99; do M[$a,docker]=NA; done
	if [ "$DOCKER_STATUS" = ok ]; then
		M[T1U,docker]=${DK[docker-overlay,t]} M[L50,docker]=${DK[docker-overlay,l50]} M[L99,docker]=${DK[docker-overlay,l99]}
	else
		FAILED[docker]=$DOCKER_STATUS
	fi
fi
x() { ratio "${M[$1,$2]-NA}" "${M[$1,$3]-NA}"; }

{
	echo "# shoal bench, part 2 (cross-host overlay)  $(date -u +%FT%TZ)  host=$(hostname)  kernel=$(uname -r)  cpus=$NCPU"
	echo "# loadavg at start: $LOAD0  at end: $(cut -d' ' -f1-3 /proc/loadavg)  (other load on the machine disturbs the numbers)"
	echo "# two host namespaces joined by an underlay veth (MTU 1500), one container namespace behind each; container MTU: raw 1500, kvx 1450, shoal $( [ "$NEED_SHOAL" = 1 ] && nl_mtu "$P-scA" eth0 2>/dev/null || echo NA)"
	echo "# iperf3 $(iperf3 --version | head -1 | awk '{print $2}'), ${DUR}s per run, 1 stream (1s) and 4 streams (-P 4, 4s); pin = iperf3 -A $IPERF_PIN; unp = no affinity"
	echo "# sockperf ping-pong TCP 64 B, ${LAT_DUR}s, one-way latency (RTT/2) us; pin = client and server on CPU $LAT_PIN"
	echo "# median of $REPS reps, interleaved ${SEL[*]-} per rep; +rps rows: rps_cpus=$RPS_MASK on the rx queue of: $RPS_DEVS (ceth = container eth0, heth = host end of the container veth, ul = underlay veths)"
	[ "$NEED_SHOAL" = 1 ] && echo "# shoal: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- user bpf include 2>/dev/null || echo '+uncommitted')${SHOALD_ARGS:+, shoald $SHOALD_ARGS}"
	printf '%-22s %7s %5s %5s %7s %7s %7s %5s %8s %8s %7s %7s %6s %5s %5s %7s %7s %7s\n' \
		path 1s_pin xraw xkvx 1s_unp 4s_pin 4s_unp xkvx retr1pin retr4unp cpu1pin cpu4unp p50pin xraw xkvx p99pin p50unp p99unp
	for p in "${ROWS[@]}"; do
		if [ -n "${FAILED[$p]-}" ]; then
			printf '%-22s FAILED: %s\n' "${LABEL[$p]}" "${FAILED[$p]}"
			continue
		fi
		k=kvx; [[ $p == *+rps ]] && k=kvx+rps; [ "$p" = docker ] && k=kvx
		printf '%-22s %7s %5s %5s %7s %7s %7s %5s %8s %8s %7s %7s %6s %5s %5s %7s %7s %7s\n' "${LABEL[$p]}" \
			"${M[T1P,$p]}" "$(x T1P "$p" raw)" "$(x T1P "$p" $k)" "${M[T1U,$p]}" \
			"${M[T4P,$p]}" "${M[T4U,$p]}" "$(x T4U "$p" $k)" \
			"${M[R1P,$p]}" "${M[R4U,$p]}" "${M[C1P,$p]}" "${M[C4U,$p]}" \
			"${M[L50,$p]}" "$(x L50 "$p" raw)" "$(x L50 "$p" $k)" "${M[L99,$p]}" "${M[LU50,$p]}" "${M[LU99,$p]}"
	done
	echo "# Gbit/s: 1s/4s = 1/4 TCP streams, _pin/_unp = pinned/unpinned; xraw, xkvx = median / median of raw veth, of kernel vxlan+bridge (+rps rows: of kernel vxlan+br +rps)"
	echo "# retr1pin, retr4unp = TCP retransmits (compare with raw veth, not with 0: veth reordering in this VM)"
	echo "# cpu1pin, cpu4unp = CPU ms (both CPUs, from /proc/stat, includes other load) per Gbit received"
	echo "# per rep (1s_pin | 4s_unp | p50pin):"
	for p in "${SEL[@]}"; do
		[ -n "${FAILED[$p]-}" ] && continue
		printf '#   %-22s %s | %s | %s\n' "${LABEL[$p]}" "$(reps T1P "$p")" "$(reps T4U "$p")" "$(reps L50 "$p")"
	done
	if [ "$DOCKER" = 1 ]; then
		if [ "$DOCKER_STATUS" = ok ]; then
			echo "# docker swarm overlay: ${DK[version]-?}, container MTU ${DK[mtu]-?}; from $(basename "$DOCKER_BASELINE") run right after the paths above (1 stream unpinned ${DUR}s, latency pinned CPU $LAT_PIN; other columns not measured by it)"
			echo "#   same run, same phase (dockerd iptables active): docker-overlay ${DK[docker-overlay,t]} Gbit/s (${DK[docker-overlay,reps]}), p50 ${DK[docker-overlay,l50]} us; its raw-veth ${DK[raw-veth,t]} / p50 ${DK[raw-veth,l50]}; its kernel-vxlan ${DK[kernel-vxlan,t]} / p50 ${DK[kernel-vxlan,l50]}"
			echo "#   docker-overlay vs its own kernel-vxlan: throughput $(ratio "${DK[docker-overlay,t]}" "${DK[kernel-vxlan,t]}")x, latency p50 $(ratio "${DK[docker-overlay,l50]}" "${DK[kernel-vxlan,l50]}")x"
		else
			echo "# docker swarm overlay: $DOCKER_STATUS"
		fi
	fi
	echo
	echo "ratios"
	for s in shoal shoal+rps; do
		has "$s" && [ -z "${FAILED[$s]-}" ] || continue
		for k in kvx kvx+rps raw; do
			has "$k" && [ -z "${FAILED[$k]-}" ] || continue
			echo "  ${LABEL[$s]} / ${LABEL[$k]}: 1 stream pinned $(x T1P "$s" $k)x, unpinned $(x T1U "$s" $k)x; 4 streams pinned $(x T4P "$s" $k)x, unpinned $(x T4U "$s" $k)x; p50 pinned $(x L50 "$s" $k)x, p99 pinned $(x L99 "$s" $k)x, p50 unpinned $(x LU50 "$s" $k)x; cpu/Gb 1s $(x C1P "$s" $k)x, 4s $(x C4U "$s" $k)x"
		done
		if [ "$DOCKER_STATUS" = ok ]; then
			echo "  ${LABEL[$s]} / docker swarm overlay: 1 stream unpinned $(x T1U "$s" docker)x; p50 pinned $(x L50 "$s" docker)x"
		fi
	done
	echo
	echo "targets"
	for s in shoal shoal+rps; do
		has "$s" && [ -z "${FAILED[$s]-}" ] || continue
		k=kvx
		[ "$s" = shoal+rps ] && has kvx+rps && k=kvx+rps
		target "${LABEL[$s]}: latency p50 pinned / ${LABEL[$k]}" "$(x L50 "$s" $k)" '<=' 0.75
		target "${LABEL[$s]}: latency p50 pinned / raw veth" "$(x L50 "$s" raw)" '<=' 1.3
		target "${LABEL[$s]}: 1 stream pinned / ${LABEL[$k]}" "$(x T1P "$s" $k)" '>=' 1.05
		target "${LABEL[$s]}: 1 stream pinned / raw veth" "$(x T1P "$s" raw)" '>=' 0.9
		target "${LABEL[$s]}: 4 streams unpinned / ${LABEL[$k]}" "$(x T4U "$s" $k)" '>=' 1.0
		target "${LABEL[$s]}: 4 streams pinned / ${LABEL[$k]}" "$(x T4P "$s" $k)" '>=' 1.0
		[ "$s" = shoal+rps ] && [ "$k" != kvx ] && target "${LABEL[$s]}: 4 streams unpinned / ${LABEL[kvx]} (untuned)" "$(x T4U "$s" kvx)" '>=' 1.0
	done
} | tee "$RESULT_FILE"
log "table saved to $RESULT_FILE"

rc=0
for p in "${ROWS[@]}"; do [ -z "${FAILED[$p]-}" ] || rc=1; done
exit $rc
