# SPDX-License-Identifier: Apache-2.0
# container_helpers.bash - what the container tests share on top of
# helpers.bash (whose e2e_teardown kills the containers a test started and
# unmounts what they left): the test image loaded into shoald, containers
# made and inspected through the API, the real docker CLI against shoald,
# and counting what a container leaves on the machine.

load image_helpers

# The test image (tools/mkimage.sh: busybox-static with sh, sleep, tar,
# ping...) as shoal/busybox:latest in the running shoald.
load_test_image() {
	[ -x /bin/busybox ] || skip "busybox-static not installed (make deps)"
	[ -f "$W/img.tar" ] || mkimage "$W/img.tar" >/dev/null
	shoal load -i "$W/img.tar" >/dev/null
}

# The shim is needed to start anything: skip when this build has none yet.
need_shim() {
	local out
	out=$("$ROOT/build/shoal-shim" 2>&1 </dev/null || true)
	case $out in
	*"not built yet"*) skip "shoal-shim is a placeholder in this build" ;;
	esac
}

# ctr_create NAME JSON_BODY -> prints the id (fails on a non-201).
ctr_create() {
	local out code
	out=$(api POST "/containers/create?name=$1" "$2")
	code=$(tail -1 <<<"$out")
	if [ "$code" != "HTTP 201" ]; then
		echo "create $1: $out" >&2
		return 1
	fi
	head -n -1 <<<"$out" | jq -r .Id
}

# ctr_run NAME CMD...: create a detached busybox container running CMD
# (through sh -c) and start it; prints the id.
ctr_run() {
	local name=$1 id body
	shift
	body=$(jq -nc --arg c "$*" '{Image: "shoal/busybox", Cmd: ["sh", "-c", $c]}')
	id=$(ctr_create "$name" "$body") || return 1
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204' || {
		echo "start $name failed" >&2
		return 1
	}
	echo "$id"
}

# ctr_field REF JQ: a field of the inspect output.
ctr_field() {
	api GET "/containers/$1/json" | head -n -1 | jq -r "$2"
}

# ctr_wait_status REF STATUS [TENTHS]: poll until State.Status is STATUS.
ctr_wait_status() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		[ "$(ctr_field "$1" .State.Status)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "container $1 is $(ctr_field "$1" .State.Status), not $2" >&2
	return 1
}

# ctr_exec REF CMD...: run CMD in the container (exec API, no tty);
# prints its output, returns its exit code.
ctr_exec() {
	local ref=$1 id code cmd
	shift
	cmd=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")
	id=$(api POST "/containers/$ref/exec" \
		"$(jq -nc --argjson c "$cmd" '{AttachStdout: true, AttachStderr: true, Cmd: $c}')" |
		head -n -1 | jq -r .Id)
	[ -n "$id" ] && [ "$id" != null ] || return 125
	# No upgrade header: shoald streams the frames; strip the 8-byte headers.
	curl -s --unix-socket "$W/shoal.sock" -X POST -H 'Content-Type: application/json' \
		--data-binary '{"Detach": false}' "http://localhost/exec/$id/start" | demux
	code=$(api GET "/exec/$id/json" | head -n -1 | jq -r .ExitCode)
	return "$code"
}

# Docker's multiplexed stream on stdin -> the payloads on stdout.
demux() {
	python3 -c '
import sys, struct
d = sys.stdin.buffer.read()
i = 0
while i + 8 <= len(d):
    n = struct.unpack(">I", d[i+4:i+8])[0]
    sys.stdout.buffer.write(d[i+8:i+8+n])
    i += 8 + n
'
}

# The real docker CLI against our socket.
dkr() {
	command -v docker >/dev/null || skip "docker CLI not installed (make deps: docker.io)"
	DOCKER_HOST="unix://$W/shoal.sock" DOCKER_CLI_HINTS=false timeout 60 docker "$@"
}

# One line that changes when a container leaves anything behind: state
# rows, endpoints, container dirs, bundles, netns files, mounts under the
# test dir (bpffs aside), host veths, endpoint map entries.
leftovers() {
	local rows eps dirs bundles netns mounts veths maps
	rows=$(sqlite3 "$W/data/shoal.db" 'SELECT count(*) FROM containers' 2>/dev/null || echo "?")
	eps=$(sqlite3 "$W/data/shoal.db" "SELECT count(*) FROM endpoints WHERE container_id != ''" 2>/dev/null || echo "?")
	dirs=$(find "$W/data/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	bundles=$(find "$W/exec/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	netns=$(find "$W/exec/netns" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	mounts=$(awk -v w="$W/" -v b="$W/bpffs" 'index($5, w) == 1 && $5 != b' /proc/self/mountinfo | wc -l)
	veths=$(host_veths | wc -l)
	maps=$(map_count endpoints)
	echo "rows=$rows eps=$eps dirs=$dirs bundles=$bundles netns=$netns mounts=$mounts veths=$veths maps=$maps"
}

# Layers of the storage driver (image layers + container layers).
all_layers() {
	layer_dirs
}

# ctr_kill_all DIR: what containers of the daemon whose work dir is DIR
# left (shims and their containers, by the pids their bundles recorded;
# mounts under DIR except the bpffs), so teardown works after a failure.
ctr_kill_all() {
	local d=$1 f m
	[ -n "$d" ] && [ -d "$d" ] || return 0
	for f in "$d"/exec/containers/*/shim.pid "$d"/exec/containers/*/init.pid \
		"$d"/*/exec/containers/*/shim.pid "$d"/*/exec/containers/*/init.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	for f in "$d"/exec/containers/*/ "$d"/*/exec/containers/*/; do
		[ -d "$f" ] && e2e_rm_cgroups "$(basename "$f")"
	done
	awk -v w="$d/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo |
		grep -v '/bpffs$' | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	return 0
}

# The life of a container test file: the test image built once per file
# (ctr_file_setup in setup_file), a shoald per test with it loaded
# (ctr_test_setup), and a teardown that ends what the containers left,
# by pid, before the namespaces go (ctr_test_teardown).
ctr_file_setup() {
	export CTR_IMG="$BATS_FILE_TMPDIR/img.tar"
	"$ROOT/tools/mkimage.sh" -o "$CTR_IMG" >/dev/null
}

ctr_test_setup() {
	e2e_setup
	start_shoald
	shoal load -i "$CTR_IMG" >/dev/null
}

ctr_test_teardown() {
	[ -n "${W:-}" ] && stop_shoald 9
	ctr_kill_all "${W:-}"
	e2e_teardown
}

# wait_for CMD...: until CMD succeeds (5 s). Files that also load
# swarm_helpers.bash (kv_containers) keep its `wait_for SECS CMD...`.
if ! declare -F wait_for >/dev/null; then
wait_for() {
	for _ in $(seq 1 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
fi
