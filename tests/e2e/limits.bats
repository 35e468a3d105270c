#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Resource limits end to end: -m, --pids-limit, --cpus reach the
# container's cgroup files (cgroup v2, or the v1 hierarchies of a hybrid
# host for the controllers cgroup2 lacks, as Docker on v1), `shoal stats`
# shows the memory usage and limit, a container that exceeds -m is
# OOM-killed (137, State.OOMKilled), and no cgroup directory of a
# container is left in any hierarchy after rm or --rm.

bats_require_minimum_version 1.5.0
load helpers
load image_helpers
load container_helpers

setup_file() {
	export CTR_IMG="$BATS_FILE_TMPDIR/img.tar"
	"$ROOT/tools/mkimage.sh" -o "$CTR_IMG" >/dev/null
}

setup() {
	e2e_setup
	start_shoald
	shoal load -i "$CTR_IMG" >/dev/null
}

teardown() {
	[ -n "${W:-}" ] && stop_shoald 9
	ctr_kill_all "${W:-}"
	e2e_teardown
}

IMAGE=shoal/busybox

# `run` with limit flags: the shoal CLI once it has them, else the
# docker CLI against shoald (it sends HostConfig Memory/PidsLimit/NanoCpus).
run_limited() {
	if shoal run --help 2>&1 | grep -q -- '--memory'; then
		shoal run "$@"
	else
		dkr run "$@"
	fi
}

# cg_dir PID CTRL: the directory holding CTRL's files for PID, from
# /proc/PID/cgroup: a v1 hierarchy naming CTRL, else the cgroup2 one.
cg_dir() {
	local line mnt
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup" || true)
	if [ -n "$line" ]; then
		mnt=$(findmnt -rn -t cgroup -o TARGET,OPTIONS | awk -v c="$2" \
			'{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }')
		echo "$mnt${line#*:*:}"
	else
		mnt=$(findmnt -rn -t cgroup2 -o TARGET | head -1)
		echo "$mnt$(sed -n 's/^0:://p' "/proc/$1/cgroup")"
	fi
}

is_v1() { grep -qE "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup"; }

# Every cgroup directory named after container ID, in any hierarchy.
cg_dirs_of() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "$1" 2>/dev/null || true
}

@test "limits: -m 64m --pids-limit 100 --cpus 0.5 are in the container's cgroups, stats shows usage / 64MiB, rm removes them" {
	id=$(run_limited -d -m 64m --pids-limit 100 --cpus 0.5 "$IMAGE" sleep 300)
	[ "${#id}" -eq 64 ]
	pid=$(ctr_field "$id" .State.Pid)
	[ "$pid" -gt 0 ]
	cat "/proc/$pid/cgroup" >&3
	mem=$(cg_dir "$pid" memory); pids=$(cg_dir "$pid" pids); cpu=$(cg_dir "$pid" cpu)
	echo "# memory $mem, pids $pids, cpu $cpu" >&3
	for d in "$mem" "$pids" "$cpu"; do
		[[ "$d" == */"$id" ]]
		[ -d "$d" ]
	done
	if is_v1 "$pid" memory; then
		[ "$(cat "$mem/memory.limit_in_bytes")" = 67108864 ]
		if [ -f "$mem/memory.memsw.limit_in_bytes" ]; then
			[ "$(cat "$mem/memory.memsw.limit_in_bytes")" = 134217728 ]
		fi
	else
		[ "$(cat "$mem/memory.max")" = 67108864 ]
	fi
	[ "$(cat "$pids/pids.max")" = 100 ]
	if is_v1 "$pid" cpu; then
		[ "$(cat "$cpu/cpu.cfs_period_us")" = 100000 ]
		[ "$(cat "$cpu/cpu.cfs_quota_us")" = 50000 ]
	else
		[ "$(cat "$cpu/cpu.max")" = "50000 100000" ]
	fi
	row=$(shoal stats --no-stream --format json | jq -c --arg i "${id:0:12}" '.[] | select(.ID == $i)')
	echo "# stats: $row" >&3
	usage=$(jq -r .MemUsage <<<"$row")
	[[ "$usage" == *" / 64MiB" ]]
	[[ "$usage" != "0B /"* ]]
	[ "$(jq -r .PIDs <<<"$row")" = 1 ]
	shoal rm -f "$id" >/dev/null
	for d in "$mem" "$pids" "$cpu"; do
		[ ! -e "$d" ]
	done
	[ -z "$(cg_dirs_of "$id")" ]
}

@test "limits: beyond -m 32m the container is OOM-killed: 137, State.OOMKilled; --rm leaves no cgroup" {
	# dd's 100 MiB buffer cannot fit in 32 MiB (+ 32 MiB swap at most)
	id=$(ctr_create oom1 '{"Image": "shoal/busybox", "Cmd": ["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"], "HostConfig": {"Memory": 33554432}}')
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204'
	[ "$(api POST "/containers/$id/wait" | head -n -1 | jq .StatusCode)" = 137 ]
	[ "$(ctr_field "$id" .State.OOMKilled)" = true ]
	[ "$(ctr_field "$id" .State.ExitCode)" = 137 ]
	[ -z "$(cg_dirs_of "$id")" ]
	shoal rm "$id" >/dev/null
	# one that stays under its limit is not OOMKilled
	id=$(ctr_create ok1 '{"Image": "shoal/busybox", "Cmd": ["true"], "HostConfig": {"Memory": 33554432}}')
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204'
	[ "$(api POST "/containers/$id/wait" | head -n -1 | jq .StatusCode)" = 0 ]
	[ "$(ctr_field "$id" .State.OOMKilled)" = false ]
	shoal rm "$id" >/dev/null
	# run --rm -m 32m: the exit code is 137 and the container is gone
	run run_limited --rm --cidfile "$W/cid" --name oomrm -m 32m "$IMAGE" dd if=/dev/zero of=/dev/null bs=100M count=1
	echo "# run --rm: $status $output" >&3
	[ "$status" -eq 137 ]
	[ "$(api GET /containers/oomrm/json | tail -1)" = "HTTP 404" ]
	[ "$(wc -c < "$W/cid")" -eq 64 ]
	[ -z "$(cg_dirs_of "$(cat "$W/cid")")" ]
	# AutoRemove through the API, so the id is known: no cgroup left
	id=$(ctr_create oomrm2 '{"Image": "shoal/busybox", "Cmd": ["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"], "HostConfig": {"Memory": 33554432, "AutoRemove": true}}')
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204'
	[ "$(api POST "/containers/$id/wait?condition=removed" | head -n -1 | jq .StatusCode)" = 137 ]
	[ -z "$(cg_dirs_of "$id")" ]
	[ "$(leftovers)" = "rows=0 eps=0 dirs=0 bundles=0 netns=0 mounts=0 veths=0 maps=0" ]
}
