# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# tools/lib/dockerd.sh - a private dockerd (Debian's docker.io) for
# benchmarks, next to tools/lib/netns.sh (source that first: these helpers
# use its cleanup registry and logging).  The same recipe as
# tests/e2e/image_helpers.bash: dockerd and the containerd it starts run in
# a network namespace of ours, in private mount and UTS namespaces (a /sys
# that matches the netns, the cgroup tree kept), no iptables, no bridge,
# with their own data-root, exec-root and socket.  Nothing of the
# machine's own Docker (if any) is touched.
#
#     nl_dockerd_start "$P-d" "$W/docker" "$W/docker/root" --storage-driver overlay2
#     nl_docker "$W/docker" load -i image.tar
#     nl_dockerd_stop "$W/docker"
#
# Instance dir DIR holds: d.sock, x/ (exec-root), log, launch.sh, pid.

# nl_dockerd_start NS DIR DATA_ROOT [DOCKERD_ARG...]: start dockerd, wait
# (NL_DOCKERD_WAIT, 60 s) until `docker version` answers; on failure log
# the log tail, stop it and return 1.  Registers the stop for cleanup.
nl_dockerd_start() {
	local ns=$1 d=$2 root=$3 pid end; shift 3
	command -v dockerd >/dev/null || { nl_log "dockerd not installed (docker.io)"; return 1; }
	mkdir -p "$d" "$root"
	[ -f "$d/daemon.json" ] || echo '{}' >"$d/daemon.json"
	cat >"$d/launch.sh" <<-'EOF'
	#!/bin/sh
	# Runs under unshare --mount: a /sys that matches the netns, cgroups kept.
	set -e
	d=$1; shift
	mkdir -p "$d/cg"
	mount --rbind /sys/fs/cgroup "$d/cg"
	mount -t sysfs sysfs /sys
	mount --move "$d/cg" /sys/fs/cgroup
	exec dockerd "$@"
	EOF
	chmod +x "$d/launch.sh"
	echo "=== $(date -u +%FT%TZ) start: data-root $root $*" >>"$d/log"
	# nsenter, unshare and sh all exec: $! ends up being dockerd's pid
	nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private \
		"$d/launch.sh" "$d" --config-file "$d/daemon.json" --data-root "$root" \
		--exec-root "$d/x" -H "unix://$d/d.sock" --pidfile "$d/d.pid" \
		--iptables=false --ip-masq=false --bridge=none --shutdown-timeout 5 "$@" \
		</dev/null >>"$d/log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >"$d/pid"
	nl_defer nl_dockerd_stop "$d"
	end=$(($(date +%s) + ${NL_DOCKERD_WAIT:-60}))
	while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
		nl_docker "$d" version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	nl_log "dockerd (pid $pid) did not come up; log tail:"
	tail -n 20 "$d/log" | sed 's/^/    /' >&"$NL_LOG_FD"
	nl_dockerd_stop "$d"
	return 1
}

# nl_docker DIR ARG...: the docker CLI against instance DIR (NL_DOCKER_TIMEOUT, 600 s).
nl_docker() {
	local d=$1; shift
	DOCKER_CLI_HINTS=false timeout "${NL_DOCKER_TIMEOUT:-600}" docker -H "unix://$d/d.sock" "$@"
}

# nl_dockerd_pid DIR: dockerd's pid (empty if not running).
nl_dockerd_pid() { cat "$1/pid" 2>/dev/null || true; }

# nl_dockerd_stop DIR: SIGTERM dockerd, SIGKILL after 15 s; then the
# containerd it started, should it have outlived dockerd.  By pid only.
nl_dockerd_stop() {
	local d=$1 pid cpid
	pid=$(nl_dockerd_pid "$d")
	if [ -n "$pid" ]; then
		nl_kill_pid "$pid" 15
		rm -f "$d/pid"
	fi
	cpid=$(cat "$d/x/containerd/containerd.pid" 2>/dev/null || true)
	if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
		nl_kill_pid "$cpid" 5
	fi
	nl_undefer nl_dockerd_stop "$d"
	return 0
}
