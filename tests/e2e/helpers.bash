# SPDX-License-Identifier: Apache-2.0
# helpers.bash - shared setup for the bats end-to-end tests.
#
# Each test gets: a work dir $W, a private bpffs mounted at $W/bpffs, a
# "host" network namespace $HOSTNS where shoald runs (entered with
# nsenter --net, so it keeps the root mount namespace and our bpffs),
# and helpers to make endpoint namespaces. teardown removes all of it,
# killing only the processes this test started, even after a failure.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
SHOALD=${SHOALD:-$ROOT/build/shoald}
SHOAL_BIN=${SHOAL_BIN:-$ROOT/build/shoal}

e2e_setup() {
	W=$(mktemp -d /tmp/shoal-e2e.XXXXXX)
	P="se$(basename "$W" | cut -c11-)"   # unique per test
	P=${P//[^a-zA-Z0-9]/x}
	NODE=$P
	HOSTNS=$P-host
	: > "$W/netns" ; : > "$W/pids"
	mkdir -p "$W/bpffs"
	mount -t bpf bpf "$W/bpffs"
	echo '{}' > "$W/daemon.json"
	netns_add "$HOSTNS"
}

e2e_teardown() {
	[ -n "${W:-}" ] || return 0
	stop_shoald 9 || true
	e2e_kill_containers
	if [ -s "$W/pids" ]; then
		while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$W/pids"
	fi
	if [ -s "$W/netns" ]; then
		# what still runs in our namespaces was started by this test (e.g.
		# the children of a pid above, which would otherwise keep bats'
		# output pipe open): by pid
		while read -r ns; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
			ip netns del "$ns" 2>/dev/null || true
		done < "$W/netns"
	fi
	e2e_umount_all
	umount "$W/bpffs" 2>/dev/null || true
	rm -rf "$W"
}

# Containers this test's shoald started outlive it (their shims are not
# its children): kill each container's init, then its shim, by the pids
# in the bundles under the test's exec-root. Nothing there: a no-op.
e2e_kill_containers() {
	local f pid
	for f in "$W"/exec/containers/*/init.pid "$W"/exec/containers/*/shim.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[[ $pid =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || continue
		kill -9 "$pid" 2>/dev/null || true
	done
	# A shim killed here cannot remove the v1 freezer cgroup a paused
	# container got (/sys/fs/cgroup/freezer/shoal/<id>): once empty, it goes.
	local d id
	for d in "$W"/exec/containers/*/; do
		id=$(basename "$d")
		[ -d "/sys/fs/cgroup/freezer/shoal/$id" ] || continue
		for _ in $(seq 1 20); do
			rmdir "/sys/fs/cgroup/freezer/shoal/$id" 2>/dev/null && break
			sleep 0.05
		done
	done
}

# Unmount whatever is still mounted under $W (container rootfs, network
# namespace bind mounts, ...), deepest first.
e2e_umount_all() {
	local m
	awk -v w="$W/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
}

netns_add() {
	ip netns add "$1"
	echo "$1" >> "$W/netns"
	ip -n "$1" link set lo up
}

endpoint_ns() {
	netns_add "$1"
}

# Keep the neighbour entries of eth0 in namespace $1 REACHABLE for
# minutes, so ARP refreshes do not land inside a counting window.
steady_neigh() {
	ip netns exec "$1" sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=600000
}

# Start shoald in $HOSTNS; extra args are passed through.
start_shoald() {
	nsenter --net="/run/netns/$HOSTNS" "$SHOALD" --data-root "$W/data" --exec-root "$W/exec" \
		--host "unix://$W/shoal.sock" --bpffs-root "$W/bpffs" --node-name "$NODE" \
		--config-file "$W/daemon.json" "$@" >> "$W/shoald.log" 2>&1 &
	echo $! > "$W/shoald.pid"
	local i
	for i in $(seq 1 100); do
		if "$SHOAL_BIN" -H "unix://$W/shoal.sock" version >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$(cat "$W/shoald.pid")" 2>/dev/null; then
			echo "shoald exited during start:" >&2; cat "$W/shoald.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "shoald did not answer within 10 s:" >&2; cat "$W/shoald.log" >&2
	return 1
}

# stop_shoald [SIGNAL]: default TERM, waits for the exit.
stop_shoald() {
	local sig=${1:-TERM} pid
	[ -f "$W/shoald.pid" ] || return 0
	pid=$(cat "$W/shoald.pid")
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$W/shoald.pid"
}

shoal() {
	"$SHOAL_BIN" -H "unix://$W/shoal.sock" "$@"
}

# Raw API call: api METHOD PATH [BODY]  -> prints body, then "HTTP <code>" line.
api() {
	local data=()
	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-binary "$3")
	curl -s --unix-socket "$W/shoal.sock" -X "$1" "${data[@]}" -w '\nHTTP %{http_code}\n' \
		"http://localhost$2"
}

in_host() { ip netns exec "$HOSTNS" "$@"; }

# Number of entries in one of our pinned maps.
map_count() {
	bpftool -j map dump pinned "$W/bpffs/shoal/$NODE/$1" | jq 'length'
}

# The host-namespace links whose names start with shl.
host_veths() {
	ip -n "$HOSTNS" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^shl' || true
}

# stat FIELD of endpoint NAME from `shoal stats --no-stream --format json`.
ep_stat() {
	shoal stats --no-stream --format json | jq -r --arg n "$1" --arg f "$2" \
		'(if type == "array" then . else .Endpoints end)[] | select(.Name == $n) | .[$f]'
}

ip_of() {
	shoal network inspect "$1" | jq -r --arg n "$2" \
		'.[0].Containers[] | select(.Name == $n) | .IPv4Address' | cut -d/ -f1
}
