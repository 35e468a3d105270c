# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# tools/lib/netns.sh - shell helpers for benchmarks and tests that build
# their world out of network namespaces (tools/bench.sh, the multi-host
# harness, the e2e tests).  Source it from bash running as root:
#
#     set -Eeuo pipefail
#     . "$(dirname "$0")/lib/netns.sh"
#     nl_cleanup_install           # EXIT/INT/TERM -> nl_cleanup_run
#     nl_netns_add "$P-a"          # registers its own deletion
#
# Rules every helper follows:
#   - Everything a helper creates registers its undo in the cleanup registry
#     (a LIFO stack of commands, nl_defer); nl_cleanup_run undoes it all in
#     reverse order, ignoring errors, so a half-built world is torn down too.
#   - Helpers only ever touch namespaces, links, mounts and processes the
#     caller created; links are created directly inside their namespaces
#     (`ip -n NS link add ... peer ... netns NS2`), never in the caller's
#     namespace, so the machine's own interfaces are never involved.
#   - Processes are killed by pid only (never by name).
#   - Messages go to fd ${NL_LOG_FD:-2}; a script that redirects stderr in
#     places can `exec 3>&2; NL_LOG_FD=3` so messages from traps are not lost
#     (close fd 3 for long-running children: `cmd 3>&-`).
#
# All names are prefixed nl_ (functions) / NL_ (globals).

NL_CLEANUP=()            # registry: command strings, run last-in first-out
NL_LOG_FD=${NL_LOG_FD:-2}
NL_SHOALD_PID=           # pid and instance dir of the shoald started last
NL_SHOALD_DIR=           #   by nl_shoald_start

nl_log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&"$NL_LOG_FD"; }
nl_die() { nl_log "FATAL: $*"; exit 1; }

# ------------------------------------------------------------ cleanup registry

# nl_defer CMD [ARG...]: push a command (arguments are quoted safely) onto the
# cleanup stack.
nl_defer() {
	local q
	q=$(printf '%q ' "$@")
	NL_CLEANUP+=("${q% }")
}

# nl_undefer CMD [ARG...]: remove the most recent identical entry (after the
# caller has undone the thing itself, e.g. stopped a daemon early).
nl_undefer() {
	local q i
	q=$(printf '%q ' "$@"); q=${q% }
	for ((i = ${#NL_CLEANUP[@]} - 1; i >= 0; i--)); do
		if [ "${NL_CLEANUP[i]-}" = "$q" ]; then
			unset 'NL_CLEANUP[i]'
			NL_CLEANUP=("${NL_CLEANUP[@]}")
			return 0
		fi
	done
	return 0
}

# nl_cleanup_run: run every registered command, newest first, errors ignored.
# Safe to call twice (the registry is emptied as it goes).
nl_cleanup_run() {
	local i cmd
	set +e
	for ((i = ${#NL_CLEANUP[@]} - 1; i >= 0; i--)); do
		cmd=${NL_CLEANUP[i]}
		unset 'NL_CLEANUP[i]'
		eval "$cmd" </dev/null
	done
	NL_CLEANUP=()
}

# nl_cleanup_install [HOOK]: EXIT runs HOOK (default: nl_cleanup_run) and
# keeps the exit code; INT/TERM turn into exit 130/143 (so EXIT runs once);
# ERR logs the failing command.  A HOOK of your own should call
# nl_cleanup_run itself.
nl_cleanup_install() {
	NL_CLEANUP_HOOK=${1:-nl_cleanup_run}
	trap '_nl_on_exit' EXIT
	trap 'nl_log "interrupted"; exit 130' INT
	trap 'nl_log "terminated"; exit 143' TERM
	trap 'nl_log "error (rc $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
}
_nl_on_exit() {
	local rc=$?
	trap - EXIT INT TERM ERR
	set +e
	"$NL_CLEANUP_HOOK"
	exit "$rc"
}

# nl_watchdog SECONDS: after SECONDS send TERM to this script (-> trap ->
# cleanup).  The watchdog's own pid is registered for cleanup.
nl_watchdog() {
	local limit=$1 self=$$
	( trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	  sleep "$limit" & sp=$!; wait "$sp"
	  nl_log "WATCHDOG: ${limit}s time limit reached, aborting"
	  kill -TERM "$self" ) >/dev/null &
	nl_defer nl_kill_pid "$!" 1
}

# ------------------------------------------------------------ processes

# nl_kill_pid PID [GRACE_SECONDS=5]: SIGTERM, wait up to GRACE, then SIGKILL.
# Returns 0 if the process is gone.
nl_kill_pid() {
	local pid=$1 grace=${2:-5} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	nl_log "pid $pid ignored SIGTERM for ${grace}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return 0
}

# nl_bg NS LOGFILE CMD [ARG...]: start CMD in netns NS (via `ip netns exec`;
# NS "-" = the current namespace) in the background, output to LOGFILE,
# register its pid for cleanup; the pid is left in NL_BG_PID.
# `ip netns exec`, taskset and nsenter exec their command, so the pid is the
# command's own pid.
nl_bg() {
	local ns=$1 log=$2; shift 2
	if [ "$ns" = - ]; then
		"$@" </dev/null >"$log" 2>&1 3>&- &
	else
		ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 3>&- &
	fi
	NL_BG_PID=$!
	nl_defer nl_kill_pid "$NL_BG_PID" 2
}

# nl_wait TIMEOUT_S CMD [ARG...]: run CMD every 0.2 s until it succeeds
# (output discarded); 1 on timeout.
nl_wait() {
	local t=$1 end; shift
	end=$(( $(date +%s%N) + t * 1000000000 ))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# nl_wait_socket PATH TIMEOUT_S: wait until PATH is a unix socket.
nl_wait_socket() { nl_wait "$2" test -S "$1"; }

# nl_cpus_of PID: the CPU list a process may run on (e.g. "0-1").
nl_cpus_of() { awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$1/status"; }

# ------------------------------------------------------------ namespaces, links

# nl_netns_add NAME: create netns NAME (<= 15 chars keeps it usable as an
# interface name prefix too), bring lo up, register its deletion.  Refuses
# a name that already exists (it is somebody else's).
nl_netns_add() {
	local ns=$1
	[ -e "/run/netns/$ns" ] && nl_die "netns $ns already exists (not ours: refusing)"
	ip netns add "$ns"
	nl_defer nl_netns_del "$ns"
	ip -n "$ns" link set lo up
}

# nl_netns_del NAME: kill what still runs in netns NAME (it is ours: the
# caller created it, so are its processes), then delete it; deleting a netns
# destroys every link in it (and the peer ends of its veths).
nl_netns_del() {
	local ns=$1 pids pid
	[ -e "/run/netns/$ns" ] || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [ -n "$pids" ]; then
		for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
		sleep 0.3
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	fi
	ip netns del "$ns" 2>/dev/null || nl_log "could not delete netns $ns"
	return 0
}

# nl_veth NS1 IF1 NS2 IF2 [MTU]: veth pair IF1 (in NS1) <-> IF2 (in NS2),
# both up.  Created inside NS1 directly; goes away with either namespace.
nl_veth() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4 mtu=${5:-}
	ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2"
	if [ -n "$mtu" ]; then
		ip -n "$ns1" link set "$if1" mtu "$mtu"
		ip -n "$ns2" link set "$if2" mtu "$mtu"
	fi
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
}

# nl_addr NS IF CIDR: add an address to IF in NS.
nl_addr() { ip -n "$1" addr add "$3" dev "$2"; }

# nl_bridge NS BR [MTU]: a Linux bridge BR in NS, up (STP off, no forward
# delay: ports forward at once).
nl_bridge() {
	local ns=$1 br=$2 mtu=${3:-}
	ip -n "$ns" link add "$br" type bridge forward_delay 0 stp_state 0
	[ -n "$mtu" ] && ip -n "$ns" link set "$br" mtu "$mtu"
	ip -n "$ns" link set "$br" up
}

# nl_bridge_port NS BR IF: enslave IF to BR (both in NS).
nl_bridge_port() { ip -n "$1" link set "$3" master "$2" up; }

# nl_ping NS IP [TIMEOUT_S=5]: wait until IP answers a ping from NS.
nl_ping() { nl_wait "${3:-5}" ip netns exec "$1" ping -c1 -W1 "$2"; }

# nl_mtu NS IF: print the MTU of IF in NS.
nl_mtu() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].mtu'; }

# ------------------------------------------------------------ mounts, dirs

# nl_workdir DIR: create DIR (must not exist) and register its removal;
# anything still mounted below it is unmounted first (deepest first), and
# the removal never crosses into another filesystem.
nl_workdir() {
	[ -e "$1" ] && nl_die "work dir $1 already exists (not ours: refusing)"
	mkdir -p "$1"
	nl_defer nl_rm_tree "$1"
}
nl_rm_tree() {
	local d=${1%/} m
	[ -n "$d" ] && [ "$d" != / ] || return 0
	awk -v w="$d/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	rm -rf --one-file-system "$d"
}

# nl_bpffs_mount DIR: a private bpffs instance at DIR (pins made there vanish
# with the unmount); registers the unmount.
nl_bpffs_mount() {
	mkdir -p "$1"
	mount -t bpf bpf "$1"
	nl_defer umount "$1"
}

# ------------------------------------------------------------ shoald / shoal

# Binaries (override in the environment): SHOALD, SHOAL.
# A shoald "instance" is a directory DIR holding everything of one daemon:
#   DIR/data  DIR/exec  DIR/shoal.sock  DIR/daemon.json  DIR/shoald.log
# and a bpffs mounted by the caller (nl_bpffs_mount) passed as BPFFS.

# nl_shoal DIR ARG...: run the CLI against the instance in DIR (30 s limit).
nl_shoal() {
	local d=$1; shift
	timeout "${NL_SHOAL_TIMEOUT:-30}" "${SHOAL:-build/shoal}" -H "unix://$d/shoal.sock" "$@"
}

# nl_shoald_start NS DIR BPFFS NODE [DAEMON_ARG...]: start shoald in netns NS
# but in the caller's mount namespace (nsenter --net, not `ip netns exec`,
# which remounts /sys and would hide BPFFS).  Waits (NL_SHOALD_WAIT, 10 s)
# until `shoal version` answers; on failure prints the log tail, stops the
# daemon and returns 1.  Sets NL_SHOALD_PID and NL_SHOALD_DIR (the instance
# started last), writes DIR/shoald.pid, registers the stop for cleanup.
# Several instances (distinct DIR, BPFFS or NODE, NS) may run at once.
# The log is appended to, so restarts keep the history.
nl_shoald_start() {
	local ns=$1 d=$2 bpffs=$3 node=$4 rc; shift 4
	[ "$(stat -f -c %T "$bpffs" 2>/dev/null)" = bpf_fs ] || { nl_log "$bpffs is not a bpffs mount"; return 1; }
	mkdir -p "$d/data" "$d/exec"
	[ -f "$d/daemon.json" ] || echo '{}' >"$d/daemon.json"
	echo "=== $(date -u +%FT%TZ) start: $*" >>"$d/shoald.log"
	nsenter --net="/run/netns/$ns" "${SHOALD:-build/shoald}" \
		--data-root "$d/data" --exec-root "$d/exec" --host "unix://$d/shoal.sock" \
		--bpffs-root "$bpffs" --node-name "$node" --config-file "$d/daemon.json" "$@" \
		</dev/null >>"$d/shoald.log" 2>&1 3>&- &
	NL_SHOALD_PID=$! NL_SHOALD_DIR=$d
	echo "$NL_SHOALD_PID" >"$d/shoald.pid"
	nl_defer nl_kill_pid "$NL_SHOALD_PID" 10
	local end=$(( $(date +%s%N) + ${NL_SHOALD_WAIT:-10} * 1000000000 )) up=0
	while kill -0 "$NL_SHOALD_PID" 2>/dev/null && [ "$(date +%s%N)" -lt "$end" ]; do
		NL_SHOAL_TIMEOUT=2 nl_shoal "$d" version >/dev/null 2>&1 && { up=1; break; }
		sleep 0.2
	done
	if [ "$up" = 0 ]; then
		if kill -0 "$NL_SHOALD_PID" 2>/dev/null; then
			nl_log "shoald (pid $NL_SHOALD_PID) did not answer within ${NL_SHOALD_WAIT:-10}s; log tail:"
		else
			wait "$NL_SHOALD_PID" 2>/dev/null && rc=0 || rc=$?
			nl_log "shoald exited (status $rc) before answering; log tail:"
		fi
		tail -n 25 "$d/shoald.log" | sed 's/^/    /' >&"$NL_LOG_FD"
		nl_shoald_stop "$d"
		return 1
	fi
}

# nl_shoald_stop [DIR]: SIGTERM the shoald of instance DIR (default: the one
# started last), SIGKILL after 10 s, and drop it from the cleanup registry.
# Its pins stay in its bpffs (the data plane outlives the daemon by design).
nl_shoald_stop() {
	local d=${1:-${NL_SHOALD_DIR:-}} pid=
	[ -n "$d" ] && pid=$(cat "$d/shoald.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	nl_kill_pid "$pid" 10
	nl_undefer nl_kill_pid "$pid" 10
	rm -f "$d/shoald.pid"
	if [ "$pid" = "${NL_SHOALD_PID:-}" ]; then NL_SHOALD_PID=; fi
	return 0
}
