# SPDX-License-Identifier: Apache-2.0
# image_helpers.bash - what images.bats and storage.bats share on top of
# helpers.bash: the test image (tools/mkimage.sh), counting what the store
# and the storage driver hold on disk, a registry on loopback inside the
# test's host namespace, and a private dockerd for round trips.

MKIMAGE=$ROOT/tools/mkimage.sh
REGISTRY_PORT=5000 # inside $HOSTNS: nothing else listens there

# mkimage FILE [mkimage.sh args]: build the test image, print its id.
mkimage() {
	local out=$1
	shift
	"$MKIMAGE" -o "$out" "$@"
}

# The config's diff_ids of a legacy archive, as compact JSON.
archive_diff_ids() {
	local cfg
	cfg=$(tar -xOf "$1" manifest.json | jq -r '.[0].Config')
	tar -xOf "$1" "$cfg" | jq -c '.rootfs.diff_ids'
}

# The storage driver shoald uses now.
driver() {
	shoal info --format '{{.Driver}}'
}

# layer_dirs [DRIVER [DATA_ROOT]]: read-only layers the driver holds.
layer_dirs() {
	local drv=${1:-$(driver)} d=${2:-$W/data}
	case $drv in
	overlay2) find "$d/overlay2" -mindepth 1 -maxdepth 1 -type d ! -name l 2>/dev/null | wc -l ;;
	vfs) find "$d/vfs/dir" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l ;;
	btrfs) find "$d/btrfs/subvolumes" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l ;;
	*) echo "layer_dirs: unknown driver $drv" >&2; return 1 ;;
	esac
}

# Blobs in the content store.
blob_count() {
	find "${1:-$W/data}/image/blobs" -type f 2>/dev/null | wc -l
}

# One line that changes when anything is stored: layer dirs, blobs,
# images, and leftovers of interrupted transfers.
store_state() {
	local tmp
	tmp=$(find "$W/data/image" -name '.tmp*' 2>/dev/null | wc -l)
	echo "layers=$(layer_dirs) blobs=$(blob_count) images=$(shoal images -aq --no-trunc | sort -u | wc -l) tmp=$tmp"
}

# Image field through a template: img_field IMAGE TEMPLATE
img_field() {
	shoal image inspect -f "$2" "$1"
}

# ---- registry (Debian's docker-registry) in $HOSTNS on loopback -----------

registry_start() {
	command -v docker-registry >/dev/null || skip "docker-registry not installed (make deps)"
	command -v skopeo >/dev/null || skip "skopeo not installed (make deps)"
	mkdir -p "$W/registry"
	cat > "$W/registry.yml" <<-EOF
	version: 0.1
	log:
	  level: error
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $W/registry
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$REGISTRY_PORT
	EOF
	ip netns exec "$HOSTNS" docker-registry serve "$W/registry.yml" >> "$W/registry.log" 2>&1 &
	echo $! >> "$W/pids"
	local i
	for i in $(seq 1 50); do
		in_host curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null && return 0
		sleep 0.1
	done
	echo "registry did not answer:" >&2
	cat "$W/registry.log" >&2
	return 1
}

# registry_push ARCHIVE REPO:TAG - with skopeo, a client we did not write.
registry_push() {
	in_host skopeo copy --insecure-policy --dest-tls-verify=false -q \
		"docker-archive:$1" "docker://127.0.0.1:$REGISTRY_PORT/$2"
}

# registry_manifest REPO REF: the schema 2 manifest the registry serves.
registry_manifest() {
	in_host curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://127.0.0.1:$REGISTRY_PORT/v2/$1/manifests/$2"
}

# registry_digest REPO TAG: the manifest digest (Docker-Content-Digest).
registry_digest() {
	in_host curl -sf -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://127.0.0.1:$REGISTRY_PORT/v2/$1/manifests/$2" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}

# The file that holds blob DIGEST in the registry's storage.
registry_blob_file() {
	local hex=${1#sha256:}
	echo "$W/registry/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# flip_byte FILE OFFSET: invert one byte in place.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ---- a private dockerd (Debian's docker.io) for round trips ---------------

# dockerd_start: dockerd + its own containerd in $HOSTNS, private mount and
# UTS namespaces, no iptables, no bridge; data under $W/docker.
dockerd_start() {
	command -v dockerd >/dev/null ||
		skip "dockerd not installed: the Docker round trip needs Debian's docker.io"
	local d=$W/docker
	mkdir -p "$d"
	echo '{}' > "$d/daemon.json"
	cat > "$d/launch.sh" <<-'EOF'
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
	nsenter --net="/run/netns/$HOSTNS" unshare --mount --uts --propagation private \
		"$d/launch.sh" "$d" --config-file "$d/daemon.json" --data-root "$d/r" \
		--exec-root "$d/x" -H "unix://$d/d.sock" --pidfile "$d/d.pid" \
		--iptables=false --ip-masq=false --bridge=none --shutdown-timeout 5 \
		</dev/null >> "$d/log" 2>&1 &
	echo $! > "$d/launcher.pid"
	echo $! >> "$W/pids"
	local i
	for i in $(seq 1 60); do
		dk version >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "dockerd did not come up:" >&2
	tail -30 "$d/log" >&2
	return 1
}

dk() {
	DOCKER_CLI_HINTS=false docker -H "unix://$W/docker/d.sock" "$@"
}

# dockerd_stop: TERM, wait, KILL; its containerd is its child.
dockerd_stop() {
	local pid
	[ -f "$W/docker/launcher.pid" ] || return 0
	pid=$(cat "$W/docker/launcher.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$W/docker/launcher.pid"
	# The containerd dockerd started, should dockerd have died first.
	pid=$(cat "$W/docker/x/containerd/containerd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
}
