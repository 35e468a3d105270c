#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench.sh - `make bench`, part 1: single host.
#
# One table, one run, same machine: TCP throughput and request/response
# latency between two endpoints (network namespaces) on this host, over
#
#   raw        raw veth: two namespaces joined directly by a veth pair (the limit)
#   bridge     linux bridge: each endpoint has a veth into a Linux bridge in a
#              third namespace (what Docker's bridge driver builds, minus its
#              iptables rules: the bridge's best case)
#   shoal-on   shoal (accounting on): shoald in its own "host" namespace, a
#              `local` network, both endpoints attached with
#              `shoal network connect NET --netns NS`; endpoint -> endpoint by
#              bpf_redirect_peer
#   shoal-off  the same, shoald restarted with --accounting=false (state and
#              endpoints are kept across the restart)
#
# Figures per path (median over REPS interleaved repetitions raw, bridge,
# shoal-on, shoal-off, raw, ... so drift hits every path alike):
#   iperf3, 1 TCP stream, DUR s: pinned (`-A C,S`: client and server on
#     distinct CPUs) and unpinned; TCP retransmits (end.sum_sent.retransmits)
#   sockperf ping-pong TCP, 64 B, LAT_DUR s, one-way latency (RTT/2) in us:
#     p50 and p99 with client and server pinned to the SAME CPU (path cost
#     without the VM's cross-CPU wake-up cost), and p50 unpinned
#   acct (shoal rows): bytes counted in shoal's ep_stats map during the
#     pinned iperf3 run / iperf3 payload bytes (~1 when accounting is on, 0 off)
#   hostTx (shoal rows): bytes sent by the shl* host ends in that run / payload
#     bytes (~0 proves the traffic bypassed the host stack: bpf_redirect_peer)
# MTU 1500 on every link of every path.
#
# Part 2 (cross-host overlay: raw veth, kernel vxlan+bridge, Docker swarm
# overlay, shoal eBPF overlay, with and without RPS) is tools/bench-overlay.sh,
# run after part 1 with its own table (its env: OV_PATHS, DOCKER, RPS_*; see
# its header).
#
# Part 3 (images: layer extraction against GNU tar, shoal import, shoal load
# against docker load) is tools/bench-images.sh, run last; its table is
# appended to RESULT_FILE (its env: IMG_PATHS, DOCKER, LAYER_DIRS,
# DROP_CACHES; see its header).
#
# Part 4 (gossip: shoal's gossip simulator against HashiCorp memberlist's
# ../shared/bench/memberlist/run.sh, interleaved per cluster size, same
# timings) is tools/bench-gossip.sh, run after part 3; its table is appended
# to RESULT_FILE (its env: GOSSIP_NS, GOSSIP_ML, ML_TIME_LIMIT; see its
# header).  It installs golang-go and golang-github-hashicorp-memberlist-dev
# itself when they are missing (not in make deps: CI does not run bench).
#
# Part 5 (discovery latency: network connect on host A -> key in host B's
# endpoints map, p50/p99 over 200 endpoints, etcd cluster-store mode
# against gossip mode) is tools/bench-kv.sh, run after part 4; its table is
# appended to RESULT_FILE (its env: KV_EPS, KV_MODES; see its header).
# Part 6 (observability cost: flow tracking + events vs accounting only vs
# nothing, same run) is tools/bench-obs.sh, run last; its table is appended
# to RESULT_FILE (its env: DUR, LAT_DUR, REPS; see its header).
#
# Part 7 (containers: `run --rm IMAGE true` with and without networking and
# a new container's time to first packet, shoal against a private dockerd on
# the same image) is tools/bench-containers.sh; part 8 (published ports:
# shoal's eBPF DNAT against iptables DNAT and plain routing) is
# tools/bench-ports.sh.  Both append to RESULT_FILE (their env: REPS,
# DOCKER / DUR, LAT_DUR, REPS; see their headers).
#
# Usage: sudo tools/bench.sh            (make bench builds first, then runs this)
# Env:   PART="1 2 3 4 5"  which parts to run (1 = this single-host table,
#                          2 = tools/bench-overlay.sh, 3 = tools/bench-images.sh,
#                          4 = tools/bench-gossip.sh, 5 = tools/bench-kv.sh,
#                          6 = tools/bench-obs.sh, 7 = tools/bench-containers.sh,
#                          8 = tools/bench-ports.sh)
#        OV_RESULT_FILE=/tmp/shoal-bench-overlay.<ts>.txt (part 2's table copy)
#        PATHS="raw bridge shoal-on shoal-off"  (subset/order; "shoal" = both shoal rows)
#        DUR=8 LAT_DUR=3 REPS=3
#        IPERF_PIN=0,1     iperf3 -A client,server CPUs for the pinned run
#        LAT_PIN=0         CPU for sockperf client AND server in the pinned run
#        RESULT_FILE=/tmp/shoal-bench.<ts>.txt (copy of the table, kept)
#        TIME_LIMIT=<computed> watchdog in seconds (cleanup runs on expiry)
#        KEEP_LOGS=0       1: keep the work dir (server and shoald logs)
#        SHOALD=build/shoald SHOAL=build/shoal SHOAL_SUBNET=10.77.0.0/24
# Only namespaces, links, mounts and processes this script creates are
# touched; all traffic stays inside its namespaces.  Exit status: 0 if every
# requested path was measured, 1 otherwise (the table is printed anyway).
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

PART=${PART:-1 2 3 4 5 6 7 8}
for p in $PART; do
	case $p in 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8) ;; *) die "PART must name parts among 1 to 8 (got '$p')" ;; esac
done
[ -n "${PART// /}" ] || die "PART must name parts among 1 to 8"
# parts 2 to 8: a script each (in tools/)
declare -A PART_SCRIPT=([2]=bench-overlay.sh [3]=bench-images.sh [4]=bench-gossip.sh
	[5]=bench-kv.sh [6]=bench-obs.sh [7]=bench-containers.sh [8]=bench-ports.sh)
case " $PART " in
*" 1 "*) ;;
*)  # no part 1: the others in order, each on its own (parts 3 to 6
	# append to one RESULT_FILE; part 2 writes OV_RESULT_FILE if set)
	n_appending=0
	for p in 3 4 5 6 7 8; do [[ " $PART " != *" $p "* ]] || n_appending=$((n_appending + 1)); done
	if [ "$n_appending" -ge 2 ]; then
		export RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench.$(date +%Y%m%d-%H%M%S).txt}
	fi
	rc=0
	for p in 2 3 4 5 6 7 8; do
		[[ " $PART " == *" $p "* ]] || continue
		if [ "$p" = 2 ]; then
			( [ -n "${OV_RESULT_FILE:-}" ] && export RESULT_FILE=$OV_RESULT_FILE
			  exec "$HERE/${PART_SCRIPT[2]}" ) || rc=1
		else
			"$HERE/${PART_SCRIPT[$p]}" || rc=1
		fi
	done
	exit $rc
	;;
esac
DUR=${DUR:-8}
LAT_DUR=${LAT_DUR:-3}
REPS=${REPS:-3}
PATHS=${PATHS:-raw bridge shoal-on shoal-off}
IPERF_PIN=${IPERF_PIN:-0,1}
LAT_PIN=${LAT_PIN:-0}
KEEP_LOGS=${KEEP_LOGS:-0}
SHOALD=${SHOALD:-build/shoald}
SHOAL=${SHOAL:-build/shoal}
SHOAL_SUBNET=${SHOAL_SUBNET:-10.77.0.0/24}
IPERF_PORT=5201 SP_PORT=11111
MTU=1500
TS=$(date +%Y%m%d-%H%M%S)
RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench.$TS.txt}
export SHOALD SHOAL

# path list: validate, expand "shoal", drop duplicates
SEL=()
for p in $PATHS; do
	case $p in
	shoal) set -- shoal-on shoal-off ;;
	raw | bridge | shoal-on | shoal-off) set -- "$p" ;;
	*) die "unknown path '$p' in PATHS (raw bridge shoal-on shoal-off shoal)" ;;
	esac
	for q in "$@"; do [[ " ${SEL[*]-} " == *" $q "* ]] || SEL+=("$q"); done
done
[ ${#SEL[@]} -gt 0 ] || die "PATHS is empty"
[[ "$DUR$LAT_DUR$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "DUR, LAT_DUR, REPS must be positive integers"
TIME_LIMIT=${TIME_LIMIT:-$((180 + REPS * ${#SEL[@]} * (2 * DUR + 2 * LAT_DUR + 15)))}

declare -A LABEL=([raw]="raw veth" [bridge]="linux bridge" [shoal-on]="shoal (accounting on)" [shoal-off]="shoal (accounting off)")
declare -A CLI_NS SRV_IP IPERF_PID SP_PID FAILED MODE_SEEN
declare -A T_PIN T_UNP R_PIN R_UNP L50 L99 LU50 ACCT HTX

[ "$(id -u)" = 0 ] || die "must run as root"
for c in ip iperf3 sockperf jq taskset nsenter ss ping awk; do
	command -v "$c" >/dev/null || die "missing $c (make deps installs it)"
done
NCPU=$(nproc)
ALL_CPUS=$(nl_cpus_of $$)
if [ "$NCPU" -lt 2 ]; then
	log "only $NCPU CPU: pinned iperf3 runs use CPU 0 for both ends"
	IPERF_PIN=0,0
fi

# ------------------------------------------------------------ world
P=sb$$                       # unique per run; names stay <= 15 chars
W=/tmp/$P                    # short: unix socket paths must be < 108 chars
SD=$W/shoald                 # shoald instance dir (data, exec, socket, log)
BPFFS=$W/bpffs
SHOAL_UP=0 SHOAL_MODE='' SHOAL_NET=benchnet

bench_cleanup() {
	local rc=$?
	set +e
	log "cleanup"
	if [ "$SHOAL_UP" = 1 ] && [ -n "$NL_SHOALD_PID" ] && kill -0 "$NL_SHOALD_PID" 2>/dev/null; then
		# tidy through the API while the daemon runs (best effort; deleting
		# the namespaces and the bpffs below removes everything anyway)
		NL_SHOAL_TIMEOUT=10
		nl_shoal "$SD" network disconnect "$SHOAL_NET" --netns "$P-sa" >/dev/null 2>&1
		nl_shoal "$SD" network disconnect "$SHOAL_NET" --netns "$P-sb" >/dev/null 2>&1
		nl_shoal "$SD" network rm "$SHOAL_NET" >/dev/null 2>&1
	fi
	nl_shoald_stop
	bench_cleanup_run "$SD/data" "$SD/exec"
	log "cleanup done"
	return "$rc"
}
nl_cleanup_install bench_cleanup
nl_watchdog "$TIME_LIMIT"
nl_workdir "$W"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "shoal bench: paths '${SEL[*]}', $REPS reps, iperf3 ${DUR}s, sockperf ${LAT_DUR}s, prefix $P, time limit ${TIME_LIMIT}s"
log "kernel $(uname -r), $NCPU CPUs, loadavg $LOAD0"

has() { [[ " ${SEL[*]} " == *" $1 "* ]]; }

wait_listen() {  # ns port
	nl_wait 5 bash -c "ss -N '$1' -Htln 'sport = :$2' | grep -q ."
}

start_servers() {  # path ns ip
	local path=$1 ns=$2 ip=$3
	nl_bg "$ns" "$W/iperf3-$path.log" iperf3 -s -B "$ip" -p "$IPERF_PORT"
	IPERF_PID[$path]=$NL_BG_PID
	nl_bg "$ns" "$W/sockperf-$path.log" sockperf server --tcp -i "$ip" -p "$SP_PORT"
	SP_PID[$path]=$NL_BG_PID
	wait_listen "$ns" "$IPERF_PORT" || die "$path: iperf3 server not listening (see $W/iperf3-$path.log)"
	wait_listen "$ns" "$SP_PORT" || die "$path: sockperf server not listening"
}

if has raw; then
	log "raw veth: $P-ra (10.201.0.1) <-veth-> $P-rb (10.201.0.2)"
	nl_netns_add "$P-ra"; nl_netns_add "$P-rb"
	nl_veth "$P-ra" "${P}ra" "$P-rb" "${P}rb" $MTU
	nl_addr "$P-ra" "${P}ra" 10.201.0.1/24
	nl_addr "$P-rb" "${P}rb" 10.201.0.2/24
	nl_ping "$P-rb" 10.201.0.1 || die "raw veth: no ping"
	CLI_NS[raw]=$P-rb SRV_IP[raw]=10.201.0.1
	start_servers raw "$P-ra" 10.201.0.1
fi

if has bridge; then
	log "linux bridge: $P-ba (10.202.0.1) <-veth-> [$P-br: bridge] <-veth-> $P-bb (10.202.0.2)"
	nl_netns_add "$P-br"; nl_netns_add "$P-ba"; nl_netns_add "$P-bb"
	nl_bridge "$P-br" "${P}br" $MTU
	nl_addr "$P-br" "${P}br" 10.202.0.254/24          # the "gateway", as Docker's bridge has
	nl_veth "$P-ba" "${P}ba" "$P-br" "${P}pa" $MTU
	nl_veth "$P-bb" "${P}bb" "$P-br" "${P}pb" $MTU
	nl_bridge_port "$P-br" "${P}br" "${P}pa"
	nl_bridge_port "$P-br" "${P}br" "${P}pb"
	nl_addr "$P-ba" "${P}ba" 10.202.0.1/24
	nl_addr "$P-bb" "${P}bb" 10.202.0.2/24
	nl_ping "$P-bb" 10.202.0.1 || die "linux bridge: no ping"
	CLI_NS[bridge]=$P-bb SRV_IP[bridge]=10.202.0.1
	start_servers bridge "$P-ba" 10.202.0.1
fi

# ------------------------------------------------------------ shoal
shoal_fail() {  # message: both shoal rows are reported as FAILED
	local p
	log "shoal: FAILED: $*"
	for p in shoal-on shoal-off; do has "$p" && FAILED[$p]=$*; done
	return 0
}
shoal_accounting() {  # -> true|false|unknown (the daemon's view of its BPF config)
	local v
	v=$(timeout 5 curl -sf --unix-socket "$SD/shoal.sock" http://localhost/info 2>/dev/null |
		jq -r '.Shoal.Accounting | if . == null then empty else tostring end' 2>/dev/null) || true
	echo "${v:-unknown}"
}
# shoald_mode on|off: (re)start shoald with accounting on/off if it is not so
shoald_mode() {
	local want=$1 args=() seen
	[ "$SHOAL_MODE" = "$want" ] && return 0
	if [ -n "$NL_SHOALD_PID" ]; then
		log "  restarting shoald with accounting $want"
		nl_shoald_stop
	fi
	[ "$want" = off ] && args=(--accounting=false)
	if ! nl_shoald_start "$P-h" "$SD" "$BPFFS" bench "${args[@]}"; then
		SHOAL_MODE=
		return 1
	fi
	SHOAL_MODE=$want
	seen=$(shoal_accounting)
	MODE_SEEN[$want]=$seen
	case $want/$seen in
	on/true | off/false | */unknown) ;;
	*) log "  WARNING: shoald says Accounting=$seen, wanted $want" ;;
	esac
}
# sum of tx_bytes over shoal's ep_stats map (every endpoint, every CPU); NA if unreadable
EP_STATS=
acct_bytes() {
	[ -n "$EP_STATS" ] || { echo NA; return 0; }
	bpftool -j map dump pinned "$EP_STATS" 2>/dev/null |
		jq '[.. | objects | .tx_bytes? | numbers] | if length == 0 then "NA" else add end' 2>/dev/null || echo NA
}

# bytes sent by the host ends (shl*) of shoal's veths: with bpf_redirect_peer
# endpoint -> endpoint traffic never leaves through them (~0 per payload byte)
host_tx_bytes() {
	ip -n "$P-h" -j -s link show 2>/dev/null |
		jq '[.[] | select(.ifname | startswith("shl")) | .stats64.tx.bytes] | add // 0' 2>/dev/null || echo NA
}

shoal_setup() {
	local out ipa ipb ns ifs i m opts
	log "shoal: shoald in $P-h, endpoints $P-sa, $P-sb on local network $SHOAL_NET ($SHOAL_SUBNET)"
	[ -x "$SHOALD" ] && [ -x "$SHOAL" ] || { shoal_fail "$SHOALD or $SHOAL not built"; return 0; }
	nl_bpffs_mount "$BPFFS"
	nl_netns_add "$P-h"; nl_netns_add "$P-sa"; nl_netns_add "$P-sb"
	shoald_mode on || { shoal_fail "shoald did not start: $(grep -v '^===' "$SD/shoald.log" | tail -n 3 | tr '\n' ' ')"; return 0; }
	SHOAL_UP=1
	opts=()
	if nl_shoal "$SD" network create --help 2>&1 | grep -q -- '--opt'; then
		opts=(-o "com.docker.network.driver.mtu=$MTU")
	fi
	if ! out=$(nl_shoal "$SD" network create --subnet "$SHOAL_SUBNET" "${opts[@]}" "$SHOAL_NET" 2>&1); then
		shoal_fail "network create: $out"; return 0
	fi
	for ns in "$P-sa" "$P-sb"; do
		if ! out=$(nl_shoal "$SD" network connect "$SHOAL_NET" --netns "$ns" 2>&1); then
			shoal_fail "network connect --netns $ns: $out"; return 0
		fi
	done
	if ! out=$(nl_shoal "$SD" network inspect "$SHOAL_NET" 2>&1); then
		shoal_fail "network inspect: $out"; return 0
	fi
	echo "$out" >"$W/network-inspect.json"
	ipa=$(jq -r --arg n "$P-sa" '.[0].Containers[] | select(.Name == $n) | .IPv4Address' <<<"$out" 2>/dev/null | cut -d/ -f1) || true
	ipb=$(jq -r --arg n "$P-sb" '.[0].Containers[] | select(.Name == $n) | .IPv4Address' <<<"$out" 2>/dev/null | cut -d/ -f1) || true
	if [ -z "$ipa" ] || [ -z "$ipb" ]; then
		ipa=${SHOAL_SUBNET%.*/*}.2 ipb=${SHOAL_SUBNET%.*/*}.3
		log "  no endpoint IPs in 'network inspect' output; assuming allocation order $ipa, $ipb"
	fi
	# MTU 1500 on every link of the path: the endpoints' and the host ends
	for ns in "$P-sa" "$P-sb" "$P-h"; do
		ifs=$(ip -n "$ns" -j link show | jq -r --argjson m $MTU \
			'.[] | select(.ifname != "lo" and .link_type == "ether" and .mtu != $m) | "\(.ifname)=\(.mtu)"')
		for i in $ifs; do
			m=${i#*=}; i=${i%=*}
			[[ $i == shoal0 ]] && continue
			log "  WARNING: $ns/$i has MTU $m, setting $MTU for a like-for-like comparison"
			ip -n "$ns" link set "$i" mtu $MTU
		done
	done
	if ! nl_ping "$P-sb" "$ipa" 5; then
		shoal_fail "no ping from $P-sb to $ipa over $SHOAL_NET"; return 0
	fi
	EP_STATS=$(find "$BPFFS" -name ep_stats 2>/dev/null | head -1)
	command -v bpftool >/dev/null || EP_STATS=
	[ -n "$EP_STATS" ] || log "  ep_stats map not found under $BPFFS (acct column will be NA)"
	for p in shoal-on shoal-off; do
		CLI_NS[$p]=$P-sb SRV_IP[$p]=$ipa
	done
	start_servers shoal-on "$P-sa" "$ipa"
	IPERF_PID[shoal-off]=${IPERF_PID[shoal-on]} SP_PID[shoal-off]=${SP_PID[shoal-on]}
	log "  shoal endpoints: $P-sa $ipa (server), $P-sb $ipb (client)"
}
if has shoal-on || has shoal-off; then shoal_setup; fi

# ------------------------------------------------------------ measurement
RUN=()
for p in "${SEL[@]}"; do [ -z "${FAILED[$p]-}" ] && RUN+=("$p"); done

iperf_once() {  # path [iperf3 args...] -> JSON on stdout (empty on failure)
	local path=$1 out try; shift
	for try in 1 2 3; do
		out=$(timeout $((DUR + 30)) ip netns exec "${CLI_NS[$path]}" iperf3 -c "${SRV_IP[$path]}" \
			-p "$IPERF_PORT" -t "$DUR" -J "$@" 2>/dev/null) || true
		if jq -e '.end.sum_received.bits_per_second' <<<"$out" >/dev/null 2>&1; then
			echo "$out"; return 0
		fi
		log "  iperf3 $path try $try failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null | head -c 200)"
		sleep 1
	done
}
per_byte() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { if (a == "NA" || b == "NA" || s + 0 == 0) print "NA"; else printf "%.2f", (b - a) / s }'; }
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$1" 2>/dev/null || echo NA; }
retr() { jq -r '.end.sum_sent.retransmits // "NA"' <<<"$1" 2>/dev/null || echo NA; }

run_iperf() {  # path rep
	local path=$1 r=$2 out a0 a1 h0 h1 sent
	# the server must not keep a previous run's affinity for the unpinned run
	taskset -a -p -c "$ALL_CPUS" "${IPERF_PID[$path]}" >/dev/null
	a0=NA h0=NA; [[ $path == shoal-* ]] && { a0=$(acct_bytes); h0=$(host_tx_bytes); }
	out=$(iperf_once "$path" -A "$IPERF_PIN")
	a1=NA h1=NA; [[ $path == shoal-* ]] && { a1=$(acct_bytes); h1=$(host_tx_bytes); }
	T_PIN[$path,$r]=NA R_PIN[$path,$r]=NA ACCT[$path,$r]=NA HTX[$path,$r]=NA
	if [ -n "$out" ]; then
		T_PIN[$path,$r]=$(gbps "$out"); R_PIN[$path,$r]=$(retr "$out")
		sent=$(jq -r '.end.sum_sent.bytes' <<<"$out")
		ACCT[$path,$r]=$(per_byte "$a0" "$a1" "$sent")
		HTX[$path,$r]=$(per_byte "$h0" "$h1" "$sent")
	fi
	taskset -a -p -c "$ALL_CPUS" "${IPERF_PID[$path]}" >/dev/null
	out=$(iperf_once "$path")
	T_UNP[$path,$r]=NA R_UNP[$path,$r]=NA
	if [ -n "$out" ]; then T_UNP[$path,$r]=$(gbps "$out"); R_UNP[$path,$r]=$(retr "$out"); fi
}
pct() { sed -n "s/.*percentile $1 = *\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
run_lat() {  # path rep
	local path=$1 r=$2 out
	taskset -a -p -c "$LAT_PIN" "${SP_PID[$path]}" >/dev/null
	out=$(timeout $((LAT_DUR + 20)) ip netns exec "${CLI_NS[$path]}" taskset -c "$LAT_PIN" \
		sockperf ping-pong --tcp -i "${SRV_IP[$path]}" -p "$SP_PORT" -t "$LAT_DUR" -m 64 2>&1) || true
	L50[$path,$r]=$(pct 50.000 "$out"); L99[$path,$r]=$(pct 99.000 "$out")
	[ -n "${L50[$path,$r]}" ] || log "  sockperf $path (pinned) failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	taskset -a -p -c "$ALL_CPUS" "${SP_PID[$path]}" >/dev/null
	out=$(timeout $((LAT_DUR + 20)) ip netns exec "${CLI_NS[$path]}" \
		sockperf ping-pong --tcp -i "${SRV_IP[$path]}" -p "$SP_PORT" -t "$LAT_DUR" -m 64 2>&1) || true
	LU50[$path,$r]=$(pct 50.000 "$out")
}

if [ ${#RUN[@]} -gt 0 ]; then
	log "measuring ${RUN[*]} x $REPS reps (interleaved)"
fi
for rep in $(seq "$REPS"); do
	for path in "${RUN[@]}"; do
		[ -z "${FAILED[$path]-}" ] || continue
		case $path in
		shoal-on | shoal-off)
			if ! shoald_mode "${path#shoal-}"; then
				shoal_fail "shoald restart with accounting ${path#shoal-} failed: $(grep -v '^===' "$SD/shoald.log" | tail -n 3 | tr '\n' ' ')"
				continue
			fi
			nl_ping "${CLI_NS[$path]}" "${SRV_IP[$path]}" 5 ||
				log "  WARNING: $path: no ping after the shoald (re)start"
			;;
		esac
		run_iperf "$path" "$rep"
		run_lat "$path" "$rep"
		log "  rep $rep ${LABEL[$path]}: ${T_PIN[$path,$rep]} Gbit/s pinned (retr ${R_PIN[$path,$rep]}), ${T_UNP[$path,$rep]} unpinned (retr ${R_UNP[$path,$rep]}); p50 ${L50[$path,$rep]:-NA} us pinned (p99 ${L99[$path,$rep]:-NA}), ${LU50[$path,$rep]:-NA} unpinned; acct ${ACCT[$path,$rep]}, hostTx ${HTX[$path,$rep]}"
	done
done

# ------------------------------------------------------------ report

declare -A M_TP M_TU M_RP M_RU M_L50 M_L99 M_LU M_AC M_HT
for p in "${SEL[@]}"; do
	M_TP[$p]=$(med T_PIN "$p"); M_TU[$p]=$(med T_UNP "$p")
	M_RP[$p]=$(med R_PIN "$p"); M_RU[$p]=$(med R_UNP "$p")
	M_L50[$p]=$(med L50 "$p"); M_L99[$p]=$(med L99 "$p"); M_LU[$p]=$(med LU50 "$p")
	M_AC[$p]=$(med ACCT "$p"); M_HT[$p]=$(med HTX "$p")
done

target() {  # description value op limit
	local desc=$1 val=$2 op=$3 lim=$4 res
	res=$(awk -v v="$val" -v l="$lim" -v op="$op" 'BEGIN {
		if (v == "NA" || v == "") { print "n/a "; exit }
		ok = (op == ">=") ? v >= l : (op == "<=") ? v <= l : (op == ">") ? v > l : v < l
		print ok ? "PASS" : "MISS" }')
	printf '  %s  %-58s %8s  (target %s %s)\n' "$res" "$desc" "$val" "$op" "$lim"
}

{
	echo "# shoal bench, part 1 (single host)  $(date -u +%FT%TZ)  host=$(hostname)  kernel=$(uname -r)  cpus=$NCPU"
	echo "# loadavg at start: $LOAD0  at end: $(cut -d' ' -f1-3 /proc/loadavg)  (other load on the machine disturbs the numbers)"
	echo "# iperf3 $(iperf3 --version | head -1 | awk '{print $2}'), 1 TCP stream, ${DUR}s per run; pinned = iperf3 -A $IPERF_PIN (client,server CPUs); unpinned = no affinity"
	echo "# sockperf $(sockperf --version 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1) ping-pong TCP 64 B, ${LAT_DUR}s per run, one-way latency (RTT/2) in us; pinned = client and server on CPU $LAT_PIN"
	echo "# median of $REPS reps, interleaved ${SEL[*]} per rep; MTU $MTU on every link$(has bridge && echo "; bridge = plain Linux bridge, no iptables rules$( [ -d /proc/sys/net/bridge ] && echo ', br_netfilter loaded' )")"
	if has shoal-on || has shoal-off; then
		echo "# shoal: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- user bpf include 2>/dev/null || echo '+uncommitted'); daemon-reported Accounting: on=${MODE_SEEN[on]-n/a} off=${MODE_SEEN[off]-n/a}"
	fi
	printf '%-24s %8s %6s %8s %6s %8s %8s %8s %6s %8s %8s %5s %6s\n' \
		path Gb/s_pin xraw Gb/s_unp xraw retr_pin retr_unp p50_pin xraw p99_pin p50_unp acct hostTx
	for p in "${SEL[@]}"; do
		if [ -n "${FAILED[$p]-}" ]; then
			printf '%-24s FAILED: %s\n' "${LABEL[$p]}" "${FAILED[$p]}"
			continue
		fi
		printf '%-24s %8s %6s %8s %6s %8s %8s %8s %6s %8s %8s %5s %6s\n' "${LABEL[$p]}" \
			"${M_TP[$p]}" "$(ratio "${M_TP[$p]}" "${M_TP[raw]-NA}")" \
			"${M_TU[$p]}" "$(ratio "${M_TU[$p]}" "${M_TU[raw]-NA}")" \
			"${M_RP[$p]}" "${M_RU[$p]}" \
			"${M_L50[$p]}" "$(ratio "${M_L50[$p]}" "${M_L50[raw]-NA}")" \
			"${M_L99[$p]}" "${M_LU[$p]}" "$([[ $p == shoal-* ]] && echo "${M_AC[$p]}" || echo -)" \
			"$([[ $p == shoal-* ]] && echo "${M_HT[$p]}" || echo -)"
	done
	echo "# per rep (pinned Gbit/s | unpinned Gbit/s | pinned p50 us | pinned retransmits):"
	for p in "${SEL[@]}"; do
		[ -n "${FAILED[$p]-}" ] && continue
		printf '#   %-24s %s | %s | %s | %s\n' "${LABEL[$p]}" "$(reps T_PIN "$p")" "$(reps T_UNP "$p")" "$(reps L50 "$p")" "$(reps R_PIN "$p")"
	done
	echo "# xraw = median / median of raw veth; retransmits: compare with raw veth, not with 0 (veth reordering in this VM)"
	echo "# acct = bytes counted by shoal's ep_stats during the pinned iperf3 run / iperf3 payload bytes (~1: counted; 0: not)"
	echo "# hostTx = bytes sent by the shl* host ends in that run / payload bytes (~0: endpoint->endpoint by bpf_redirect_peer, not via the host stack)"
	echo
	echo "ratios"
	if has shoal-on && has bridge; then
		S=shoal-on
		echo "  shoal (accounting on) vs linux bridge: throughput pinned $(ratio "${M_TP[$S]}" "${M_TP[bridge]}")x, unpinned $(ratio "${M_TU[$S]}" "${M_TU[bridge]}")x; latency p50 pinned $(ratio "${M_L50[$S]}" "${M_L50[bridge]}")x, p99 pinned $(ratio "${M_L99[$S]}" "${M_L99[bridge]}")x, p50 unpinned $(ratio "${M_LU[$S]}" "${M_LU[bridge]}")x"
	fi
	if has shoal-off && has bridge; then
		S=shoal-off
		echo "  shoal (accounting off) vs linux bridge: throughput pinned $(ratio "${M_TP[$S]}" "${M_TP[bridge]}")x, unpinned $(ratio "${M_TU[$S]}" "${M_TU[bridge]}")x; latency p50 pinned $(ratio "${M_L50[$S]}" "${M_L50[bridge]}")x"
	fi
	OV_T=NA OV_TU=NA OV_L=NA
	if has shoal-on && has shoal-off && [ -z "${FAILED[shoal-on]-}${FAILED[shoal-off]-}" ]; then
		OV_T=$(awk -v a="${M_TP[shoal-on]}" -v b="${M_TP[shoal-off]}" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.1f", (1 - a / b) * 100 }')
		OV_TU=$(awk -v a="${M_TU[shoal-on]}" -v b="${M_TU[shoal-off]}" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.1f", (1 - a / b) * 100 }')
		OV_L=$(awk -v a="${M_L50[shoal-on]}" -v b="${M_L50[shoal-off]}" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.1f", (a / b - 1) * 100 }')
		echo "  accounting overhead (on vs off): throughput pinned ${OV_T}%, unpinned ${OV_TU}% (throughput lost); latency p50 pinned ${OV_L}% (latency added); negative = on was faster (noise)"
	fi
	if has raw; then
		echo "  retransmits, median pinned/unpinned: $(for p in "${SEL[@]}"; do [ -z "${FAILED[$p]-}" ] && printf '%s %s/%s; ' "${LABEL[$p]}" "${M_RP[$p]}" "${M_RU[$p]}"; done)"
	fi
	echo
	echo "targets"
	if has shoal-on && [ -z "${FAILED[shoal-on]-}" ]; then
		target "shoal throughput (pinned) / raw veth" "$(ratio "${M_TP[shoal-on]}" "${M_TP[raw]-NA}")" '>=' 0.90
		target "shoal latency p50 (pinned) / raw veth" "$(ratio "${M_L50[shoal-on]}" "${M_L50[raw]-NA}")" '<=' 1.20
		target "shoal throughput (pinned) / linux bridge" "$(ratio "${M_TP[shoal-on]}" "${M_TP[bridge]-NA}")" '>' 1.00
		target "shoal latency p50 (pinned) / linux bridge" "$(ratio "${M_L50[shoal-on]}" "${M_L50[bridge]-NA}")" '<' 1.00
		target "accounting overhead, throughput pinned (%)" "$OV_T" '<=' 3
		target "accounting overhead, latency p50 pinned (%)" "$OV_L" '<=' 3
	else
		echo "  n/a: shoal (accounting on) not measured${FAILED[shoal-on]:+ (FAILED: ${FAILED[shoal-on]})}"
	fi
} | tee "$RESULT_FILE"
log "table saved to $RESULT_FILE"

rc=0
for p in "${SEL[@]}"; do [ -z "${FAILED[$p]-}" ] || rc=1; done
if [[ " $PART " == *" 2 "* || " $PART " == *" 3 "* || " $PART " == *" 4 "* || " $PART " == *" 5 "* ||
      " $PART " == *" 6 "* || " $PART " == *" 7 "* || " $PART " == *" 8 "* ]]; then
	# part 1's world goes first (its watchdog too): parts 2 to 4 have their own
	bench_cleanup
fi
if [[ " $PART " == *" 2 "* ]]; then
	log "part 2: tools/${PART_SCRIPT[2]}"
	RESULT_FILE=${OV_RESULT_FILE:-/tmp/shoal-bench-overlay.$TS.txt} "$HERE/${PART_SCRIPT[2]}" || rc=1
fi
for p in 3 4 5 6 7 8; do
	[[ " $PART " == *" $p "* ]] || continue
	log "part $p: tools/${PART_SCRIPT[$p]} (table appended to $RESULT_FILE)"
	RESULT_FILE=$RESULT_FILE "$HERE/${PART_SCRIPT[$p]}" || rc=1
done
exit $rc
