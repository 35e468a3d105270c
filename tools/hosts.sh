#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/hosts.sh - N "hosts" on this machine, for multi-host tests, the demo
# and the benchmarks.  Each host is a network namespace with one underlay
# interface on a shared switch, a private bpffs and its own shoald:
#
#   P-sw   switch namespace: Linux bridge br0, ports p1..pN
#   P-hK   host K: underlay UNDERLAY_IF (default eth0) = veth to pK on br0,
#          address <subnet>.K (default 192.168.99.K/24), MTU 1500, lo up;
#          shoald (started with `nsenter --net`, so it keeps this mount
#          namespace and its bpffs) with
#            --data-root W/hK/data --exec-root W/hK/exec
#            --host unix://W/hK/shoal.sock --bpffs-root W/hK/bpffs
#            --node-name P-hK --underlay-interface UNDERLAY_IF
#            --config-file W/hK/daemon.json ({})  [extra shoald args]
#
# Usage (root):
#   tools/hosts.sh up N [--prefix P] [--workdir W] [--subnet CIDR] [--mtu M]
#                       [--underlay-name IF] [--no-underlay]
#                       [--no-shoald | --daemons K[,K...]] [-- EXTRA_SHOALD_ARGS...]
#   tools/hosts.sh down   [--workdir W]          everything up made; idempotent
#   tools/hosts.sh env    [--workdir W]          shell exports, for eval
#   tools/hosts.sh shoal  [--workdir W] K ARGS... the CLI against host K
#   tools/hosts.sh restart [--workdir W] K [EXTRA_SHOALD_ARGS...]
#                 stop (TERM) if running, start again; with no args the extra
#                 args of the last start are reused, with args they replace them
#   tools/hosts.sh kill   [--workdir W] K [SIG]  signal shoald of host K (TERM),
#                                                wait for its exit
#   tools/hosts.sh start  [--workdir W] K        start a stopped/killed shoald
#
#   --no-underlay: shoald is started without --underlay-interface (a
#   single-host node; the host still has its underlay link and address).
#   --no-shoald:   plain hosts (namespace + underlay), no daemon.
#   --daemons LIST: shoald only on these hosts (e.g. 1 or 1,3); the others
#                  are plain hosts (e.g. a node with the kernel's own vxlan).
#   W defaults to $HOSTS_WORKDIR or /tmp/shoal-hosts, P to $HOSTS_PREFIX or
#   "hs".  W must be absent or empty.
#
# `env` prints, for eval:
#   HOSTS_WORKDIR HOSTS_PREFIX HOSTS_N SWITCH_NS UNDERLAY_IF UNDERLAY_PREFIXLEN
#   and per host K: NS_K SOCK_K UNDERLAY_IP_K NODE_K BPFFS_K DIR_K
#
# Bookkeeping: W/state lists what up created (namespaces, mounts), each line
# written *before* the object is made, so `down` also removes what a failed
# or half-finished `up` left.  W/hK/shoald.pid is the running daemon; down
# kills it by that pid (after checking it is a shoald of this W), deletes
# the namespaces (processes still in them are ours: killed by pid), unmounts
# every bpffs under W and removes W.  Only namespaces, links, mounts and
# processes made here are touched; addresses exist only inside them.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=tools/lib/netns.sh
. "$HERE/lib/netns.sh"

SHOALD=$(realpath -m "${SHOALD:-$ROOT/build/shoald}")
SHOAL=$(realpath -m "${SHOAL:-$ROOT/build/shoal}")
export SHOALD SHOAL

# shellcheck disable=SC2016
usage() { sed -n '/^# Usage/,/^# `env`/p' "$0" | sed 's/^# \{0,1\}//; $d' >&2; exit "${1:-2}"; }
die() { nl_log "hosts.sh: $*"; exit 1; }

# ------------------------------------------------------------ addresses

ip2int() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	echo $(( (a << 24) | (b << 16) | (c << 8) | d ))
}
int2ip() { echo "$(( ($1 >> 24) & 255 )).$(( ($1 >> 16) & 255 )).$(( ($1 >> 8) & 255 )).$(( $1 & 255 ))"; }

# host_ip K: address of host K in the configured subnet.
host_ip() { int2ip $(( $(ip2int "${SUBNET%/*}") + $1 )); }

# ------------------------------------------------------------ state

W=${HOSTS_WORKDIR:-/tmp/shoal-hosts}

st_add() { echo "$*" >>"$W/state"; }
st_get() { awk -v k="$1" '$1 == k {print $2; exit}' "$W/state" 2>/dev/null; }

load_state() {
	[ -f "$W/state" ] || die "no hosts in $W (no $W/state): run 'tools/hosts.sh up' first"
	P=$(st_get prefix)
	N=$(st_get n)
	SUBNET=$(st_get subnet)
	UIF=$(st_get underlay_if)
	[ -n "$P" ] && [ -n "$N" ] || die "$W/state is incomplete (up did not finish?)"
}

host_dir() { echo "$W/h$1"; }

check_k() {
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$N" ] ||
		die "no host '$1' (hosts are 1..$N)"
}

# alive PID: PID exists and is not a zombie (a daemon started by an earlier
# `up` is reparented; its reaper may take a moment).
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# is_shoald_of PID DIR: PID is a shoald serving DIR/shoal.sock.
is_shoald_of() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF "unix://$2/shoal.sock"; }

# pid_of K: the live shoald of host K, or nothing.  A pid is only taken as
# ours if its command line names this host's socket.
pid_of() {
	local d pid
	d=$(host_dir "$1")
	pid=$(cat "$d/shoald.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	if alive "$pid" && is_shoald_of "$pid" "$d"; then
		echo "$pid"
	fi
}

# ------------------------------------------------------------ shoald

# start_host K: start the shoald of host K with its recorded extra args.
start_host() {
	local k=$1 d args=() underlay=()
	d=$(host_dir "$k")
	[ -z "$(pid_of "$k")" ] || die "shoald of host $k is already running (pid $(pid_of "$k"))"
	if [ -s "$d/args" ]; then
		mapfile -d '' -t args <"$d/args"
	fi
	[ "$(cat "$d/underlay" 2>/dev/null || echo 1)" = 1 ] && underlay=(--underlay-interface "$UIF")
	nl_shoald_start "$P-h$k" "$d" "$d/bpffs" "$P-h$k" "${underlay[@]}" "${args[@]}" ||
		die "shoald of host $k did not start (log: $d/shoald.log)"
}

# stop_host K [SIG]: signal the shoald of host K, wait up to 10 s for its
# exit (then SIGKILL).  No-op if it is not running.
stop_host() {
	local k=$1 sig=${2:-TERM} pid i
	pid=$(pid_of "$k")
	if [ -n "$pid" ]; then
		kill -"$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < 200; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		if alive "$pid"; then
			nl_log "shoald of host $k (pid $pid) still running 10 s after SIG$sig: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			while alive "$pid"; do sleep 0.05; done
		fi
	fi
	rm -f "$(host_dir "$k")/shoald.pid"
}

# ------------------------------------------------------------ up / down

cmd_up() {
	local n="" opt_prefix=${HOSTS_PREFIX:-hs} subnet=192.168.99.0/24 mtu=1500 uif=eth0
	local use_underlay=1 shoald=1 daemons=all extra=() k
	while [ $# -gt 0 ]; do
		case $1 in
		--prefix) opt_prefix=$2; shift 2 ;;
		--workdir) W=$2; shift 2 ;;
		--subnet) subnet=$2; shift 2 ;;
		--mtu) mtu=$2; shift 2 ;;
		--underlay-name) uif=$2; shift 2 ;;
		--no-underlay) use_underlay=0; shift ;;
		--no-shoald) shoald=0; shift ;;
		--daemons) daemons=$2; shift 2 ;;
		--) shift; extra=("$@"); break ;;
		-*) die "up: unknown option $1" ;;
		*) [ -z "$n" ] || die "up: unexpected argument $1"; n=$1; shift ;;
		esac
	done
	[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "up: N must be 1..200"
	[ "$(id -u)" = 0 ] || die "must run as root"
	[[ "$opt_prefix" =~ ^[a-zA-Z0-9]{1,8}$ ]] || die "prefix must be 1-8 letters/digits (names <= 15 chars)"
	[[ "$subnet" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|30)$ ]] || die "bad --subnet $subnet"
	[ $(( n + 2 )) -le $(( 1 << (32 - ${subnet#*/}) )) ] || die "subnet $subnet is too small for $n hosts"
	[ "${#uif}" -le 15 ] || die "underlay name $uif is longer than 15 characters"
	[[ "$daemons" =~ ^(all|[0-9]+(,[0-9]+)*)$ ]] || die "bad --daemons $daemons (K[,K...])"
	if [ "$shoald" = 1 ]; then
		[ -x "$SHOALD" ] || die "$SHOALD not built (make)"
		[ -x "$SHOAL" ] || die "$SHOAL not built (make)"
	fi
	W=$(realpath -m "$W")
	if [ -e "$W" ] && [ -n "$(ls -A "$W")" ]; then
		die "work dir $W exists and is not empty (another set of hosts? 'down --workdir $W' first)"
	fi
	for ns in "$opt_prefix-sw" $(seq -f "$opt_prefix-h%g" 1 "$n"); do
		[ ! -e "/run/netns/$ns" ] || die "netns $ns already exists (not ours: refusing)"
	done
	mkdir -p "$W"
	P=$opt_prefix N=$n SUBNET=$subnet UIF=$uif
	{
		echo "prefix $P"
		echo "subnet $SUBNET"
		echo "underlay_if $UIF"
		echo "mtu $mtu"
	} >"$W/state"
	# A failure from here on: take down what exists, keep the exit code.
	trap 'rc=$?; trap - EXIT ERR; nl_log "up failed: removing what was made"; cmd_down_inner; exit $rc' EXIT

	st_add "ns $P-sw"
	nl_netns_add "$P-sw"
	nl_bridge "$P-sw" br0 "$mtu"
	for ((k = 1; k <= n; k++)); do
		local ns=$P-h$k d
		d=$(host_dir "$k")
		st_add "ns $ns"
		nl_netns_add "$ns"
		nl_veth "$ns" "$UIF" "$P-sw" "p$k" "$mtu"
		nl_bridge_port "$P-sw" br0 "p$k"
		nl_addr "$ns" "$UIF" "$(host_ip "$k")/${SUBNET#*/}"
		mkdir -p "$d"
		st_add "mount $d/bpffs"
		nl_bpffs_mount "$d/bpffs"
		echo '{}' >"$d/daemon.json"
		echo "$use_underlay" >"$d/underlay"
		: >"$d/args"
		[ ${#extra[@]} -eq 0 ] || printf '%s\0' "${extra[@]}" >"$d/args"
		st_add "host $k $ns $(host_ip "$k")"
	done
	# Every host's state is written: from now on `down` can find everything.
	st_add "n $n"
	if [ "$shoald" = 1 ]; then
		for ((k = 1; k <= n; k++)); do
			if [ "$daemons" = all ] || [[ ",$daemons," == *",$k,"* ]]; then
				start_host "$k"
			fi
		done
	fi
	trap - EXIT
	nl_log "$n host(s) up in $W (prefix $P): eval \"\$(tools/hosts.sh env --workdir $W)\""
}

# Remove everything recorded in W/state; errors ignored.  Used by down and
# by a failing up.
cmd_down_inner() {
	set +e
	local kind arg d pid pids nss=() m left
	[ -d "$W" ] || return 0
	# daemons first (by pid, checked), so nothing re-creates state: SIGTERM
	# to all at once, SIGKILL to what still runs 5 s later
	pids=()
	for d in "$W"/h*/; do
		d=${d%/}
		pid=$(cat "$d/shoald.pid" 2>/dev/null)
		if [ -n "$pid" ] && alive "$pid" && is_shoald_of "$pid" "$d"; then
			kill -TERM "$pid" 2>/dev/null
			pids+=("$pid")
		fi
		rm -f "$d/shoald.pid"
	done
	for ((m = 0; m < 100; m++)); do
		left=0
		for pid in "${pids[@]}"; do alive "$pid" && left=1; done
		[ "$left" = 1 ] || break
		sleep 0.05
	done
	for pid in "${pids[@]}"; do
		if alive "$pid"; then
			nl_log "shoald pid $pid ignored SIGTERM for 5 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	if [ -f "$W/state" ]; then
		while read -r kind arg _; do
			[ "$kind" = ns ] && nss+=("$arg")
		done <"$W/state"
		# hosts before the switch (reverse order of creation)
		for ((m = ${#nss[@]} - 1; m >= 0; m--)); do
			nl_netns_del "${nss[m]}"
		done
	fi
	# every mount below W (bpffs of each host), deepest first; then W
	nl_rm_tree "$W"
	set -e
	return 0
}

cmd_down() {
	while [ $# -gt 0 ]; do
		case $1 in
		--workdir) W=$2; shift 2 ;;
		*) die "down: unknown argument $1" ;;
		esac
	done
	W=$(realpath -m "$W")
	[ -d "$W" ] || return 0
	if [ ! -f "$W/state" ] && [ -n "$(ls -A "$W")" ]; then
		die "$W has no state file: not a hosts.sh work dir, leaving it alone"
	fi
	cmd_down_inner
}

cmd_env() {
	local k
	while [ $# -gt 0 ]; do
		case $1 in
		--workdir) W=$2; shift 2 ;;
		*) die "env: unknown argument $1" ;;
		esac
	done
	W=$(realpath -m "$W")
	load_state
	printf 'export HOSTS_WORKDIR=%q HOSTS_PREFIX=%q HOSTS_N=%q SWITCH_NS=%q UNDERLAY_IF=%q UNDERLAY_PREFIXLEN=%q\n' \
		"$W" "$P" "$N" "$P-sw" "$UIF" "${SUBNET#*/}"
	for ((k = 1; k <= N; k++)); do
		printf 'export NS_%d=%q SOCK_%d=%q UNDERLAY_IP_%d=%q NODE_%d=%q BPFFS_%d=%q DIR_%d=%q\n' \
			"$k" "$P-h$k" "$k" "$W/h$k/shoal.sock" "$k" "$(host_ip "$k")" "$k" "$P-h$k" \
			"$k" "$W/h$k/bpffs" "$k" "$W/h$k"
	done
}

# Leading --workdir for the per-host verbs.
take_workdir() {
	WD_SHIFT=0
	if [ "${1:-}" = --workdir ]; then
		W=$2
		WD_SHIFT=2
	fi
}

main() {
	local cmd k
	[ $# -ge 1 ] || usage
	# a global --workdir may also come first
	if [ "$1" = --workdir ]; then
		W=$2
		shift 2
	fi
	cmd=$1; shift
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	env) cmd_env "$@" ;;
	shoal | restart | kill | start)
		take_workdir "$@"; shift "$WD_SHIFT"
		W=$(realpath -m "$W")
		load_state
		[ $# -ge 1 ] || usage
		k=$1; shift
		check_k "$k"
		case $cmd in
		shoal) exec "$SHOAL" -H "unix://$W/h$k/shoal.sock" "$@" ;;
		kill) stop_host "$k" "${1:-TERM}" ;;
		start) start_host "$k" ;;
		restart)
			stop_host "$k" TERM
			[ $# -eq 0 ] || printf '%s\0' "$@" >"$(host_dir "$k")/args"
			start_host "$k"
			;;
		esac
		;;
	-h | --help | help) usage 0 ;;
	*) die "unknown command '$cmd' (up, down, env, shoal, restart, kill, start)" ;;
	esac
}

main "$@"
