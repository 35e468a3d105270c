#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-images.sh - `make bench`, part 3: images.
# (tools/bench.sh runs it after parts 1 and 2; it also runs on its own.)
#
# The layer: a gzip-compressed tar of a big real tree of this machine (LAYER_DIRS,
# default python3.11, perl, man pages, docs, icons and the Mesa drivers of /usr:
# ~280 MB, ~41,000 entries of every kind: files from a few bytes to 25 MB,
# directories, symlinks, hard links), built once per run with
# `tar --sort=name -cf` + `gzip -6`.  Rows (median over REPS interleaved reps):
#
#   extract   tar -xzf layer.tar.gz      GNU tar (gzip runs as a second process)
#             tar -xf  layer.tar         GNU tar, uncompressed
#             shoal extract .tar.gz/.tar build/shoal-bench-extract: shoal's
#                                        archive_apply_layer (overlay2 whiteout
#                                        mode, every hostile-input check on),
#                                        timed with CLOCK_MONOTONIC around the call
#   import    shoal import layer.tar.gz  end to end into shoald (overlay2): the CLI
#                                        streams it, shoald stores the blob, writes
#                                        and fsyncs the uncompressed diff (hashing
#                                        both), extracts it: NOT the same work as
#                                        tar -xzf (shown against it for scale only)
#             docker import layer.tar.gz the same through dockerd (DOCKER=1)
#   load      shoal load -i / docker load -i of the test image
#             (tools/mkimage.sh, 2 layers, busybox) and of a one-layer image
#             whose layer is layer.tar (docker save layout, built here)
#
# Every timed run writes into a fresh ext4 (a sparse image file in the work
# dir on a loop device, mkfs'd for that run, unmounted and deleted after):
# extracting over a directory tree deleted moments before costs ext4 up to
# 20x (its inode allocator scans recently freed inodes: recently_deleted()),
# and reusing one directory would make every rep after the first measure
# that.  Daemons get a fresh data-root that way each run, so nothing is
# "Already exists".  `sync` before every timed run; inputs are read once
# beforehand so they come from the page cache (DROP_CACHES=1: drop caches
# before every timed run instead).  MB/s = bytes of the uncompressed layer
# tar / seconds (the same basis for every row).  cpu = user+sys seconds of
# the command (tar counts its gzip child) or, for daemon rows, of the
# daemon and its reaped children (docker-untar) during the run.
#
# Usage: sudo tools/bench-images.sh
# Env:   IMG_PATHS="extract import load"  groups to run (subset)
#        DOCKER=1|0        docker rows (default 1 if dockerd is installed)
#        REPS=3
#        LAYER_DIRS="usr/lib/python3.11 ..."  trees (relative to /) in the layer
#        DROP_CACHES=0     1: sync + drop the page cache before every timed run
#        IMG_FS_SIZE=6G    size of each scratch ext4 (sparse)
#        RESULT_FILE=/tmp/shoal-bench-images.<ts>.txt  the table is appended
#        TIME_LIMIT=<computed> KEEP_LOGS=0
#        SHOALD=build/shoald SHOAL=build/shoal EXTRACT=build/shoal-bench-extract
# Only namespaces, loop devices, mounts and processes this script creates
# are touched.  Exit status: 0 if every requested row was measured, 1
# otherwise (the table is printed anyway).
set -Eeuo pipefail

# shellcheck source=tools/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"
# shellcheck source=tools/lib/dockerd.sh
. "$HERE/lib/dockerd.sh"

REPS=${REPS:-3}
IMG_PATHS=${IMG_PATHS:-extract import load}
LAYER_DIRS=${LAYER_DIRS:-usr/lib/python3.11 usr/share/perl usr/share/doc usr/share/icons usr/lib/x86_64-linux-gnu/dri usr/share/man}
DROP_CACHES=${DROP_CACHES:-0}
IMG_FS_SIZE=${IMG_FS_SIZE:-6G}
KEEP_LOGS=${KEEP_LOGS:-0}
SHOALD=${SHOALD:-build/shoald}
SHOAL=${SHOAL:-build/shoal}
EXTRACT=${EXTRACT:-build/shoal-bench-extract}
TS=$(date +%Y%m%d-%H%M%S)
RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench-images.$TS.txt}
export SHOALD SHOAL
if [ -z "${DOCKER:-}" ]; then
	if command -v dockerd >/dev/null && command -v docker >/dev/null; then DOCKER=1; else DOCKER=0; fi
fi

GROUPS_SEL=()
for g in $IMG_PATHS; do
	case $g in extract | import | load) ;; *) die "unknown group '$g' in IMG_PATHS (extract import load)" ;; esac
	[[ " ${GROUPS_SEL[*]-} " == *" $g "* ]] || GROUPS_SEL+=("$g")
done
[ ${#GROUPS_SEL[@]} -gt 0 ] || die "IMG_PATHS is empty"
[[ "$REPS" =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "REPS must be a positive integer"
[[ "$DROP_CACHES$DOCKER" =~ ^[01][01]$ ]] || die "DROP_CACHES and DOCKER must be 0 or 1"
group() { [[ " ${GROUPS_SEL[*]} " == *" $1 "* ]]; }

# rows, in table order
ROWS=()
if group extract; then ROWS+=(tar-xzf shoal-xgz tar-xf shoal-xtar); fi
if group import; then
	ROWS+=(shoal-import)
	[ "$DOCKER" = 1 ] && ROWS+=(docker-import)
fi
if group load; then
	ROWS+=(shoal-load-test)
	[ "$DOCKER" = 1 ] && ROWS+=(docker-load-test)
	ROWS+=(shoal-load-big)
	[ "$DOCKER" = 1 ] && ROWS+=(docker-load-big)
fi
declare -A LABEL=(
	[tar-xzf]="tar -xzf layer.tar.gz" [tar-xf]="tar -xf layer.tar"
	[shoal-xgz]="shoal extract layer.tar.gz" [shoal-xtar]="shoal extract layer.tar"
	[shoal-import]="shoal import layer.tar.gz" [docker-import]="docker import layer.tar.gz"
	[shoal-load-test]="shoal load test image" [docker-load-test]="docker load test image"
	[shoal-load-big]="shoal load big image" [docker-load-big]="docker load big image"
)
# what each row's ratio is taken against, and how: "speed" = ref secs / row
# secs (> 1: the row is faster)
declare -A REF=(
	[shoal-xgz]=tar-xzf [shoal-xtar]=tar-xf [shoal-import]=docker-import
	[shoal-load-test]=docker-load-test [shoal-load-big]=docker-load-big
)
declare -A WALL CPU FAILED ENTRIES
NROWS=${#ROWS[@]}
TIME_LIMIT=${TIME_LIMIT:-$((600 + REPS * NROWS * 90))}

[ "$(id -u)" = 0 ] || die "must run as root"
for c in tar gzip mkfs.ext4 losetup mount umount sha256sum jq nsenter ip awk; do
	command -v "$c" >/dev/null || die "missing $c (make deps installs it)"
done
for b in "$SHOALD" "$SHOAL" "$EXTRACT"; do
	[ -x "$b" ] || die "$b not built (make bench builds it)"
done
for d in $LAYER_DIRS; do [ -d "/$d" ] || die "LAYER_DIRS: /$d is not a directory"; done

# ------------------------------------------------------------ world
P=si$$
W=/tmp/$P
SD=$W/shoald
DD=$W/docker
BPFFS=$W/bpffs
CLK_TCK=$(getconf CLK_TCK)

bench_cleanup() {
	local rc=$?
	set +e
	log "cleanup"
	nl_shoald_stop
	[ -d "$DD" ] && nl_dockerd_stop "$DD"
	if [ "$KEEP_LOGS" = 1 ] && [ -d "$W" ]; then
		# keep the logs, not the gigabytes
		nl_undefer nl_rm_tree "$W"
		nl_cleanup_run
		for f in "$W/img" "$W/x" "$W/ex" "$SD/data" "$SD/exec" "$DD/root" "$DD/x"; do nl_rm_tree "$f"; done
		rm -f "$W"/layer.tar "$W"/layer.tar.gz "$W"/big.tar "$W"/test.tar
		log "logs kept in $W"
	else
		nl_cleanup_run
	fi
	log "cleanup done"
	return "$rc"
}
nl_cleanup_install bench_cleanup
nl_watchdog "$TIME_LIMIT"
nl_workdir "$W"
mkdir -p "$W/img" "$W/x"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "shoal bench part 3 (images): rows '${ROWS[*]}', $REPS reps, prefix $P, time limit ${TIME_LIMIT}s"
log "kernel $(uname -r), $(nproc) CPUs, loadavg $LOAD0"

# ---- scratch filesystems: one fresh ext4 per timed run
declare -A FS_DEV FS_IMG
FS_SEQ=0
fs_umount() { umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true; }
fs_detach() { losetup -d "$1" 2>/dev/null || true; rm -f "$2"; }
# fs_new MOUNTPOINT: a fresh ext4 mounted there
fs_new() {
	local mp=$1 img dev
	FS_SEQ=$((FS_SEQ + 1))
	img=$W/img/fs$FS_SEQ.img
	mkdir -p "$mp"
	truncate -s "$IMG_FS_SIZE" "$img"
	mkfs.ext4 -q -F -i 8192 -E lazy_itable_init=0,lazy_journal_init=0 "$img"
	dev=$(losetup --find --show "$img")
	nl_defer fs_detach "$dev" "$img"
	mount -t ext4 "$dev" "$mp"
	nl_defer fs_umount "$mp"
	FS_DEV[$mp]=$dev FS_IMG[$mp]=$img
}
# fs_drop MOUNTPOINT: unmount, detach, delete
fs_drop() {
	local mp=$1 dev=${FS_DEV[$1]} img=${FS_IMG[$1]}
	fs_umount "$mp"
	nl_undefer fs_umount "$mp"
	fs_detach "$dev" "$img"
	nl_undefer fs_detach "$dev" "$img"
	unset 'FS_DEV[$mp]' 'FS_IMG[$mp]'
}
settle() {  # before every timed run
	sync
	if [ "$DROP_CACHES" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

# timed CMD...: run CMD (output to $W/last.out); T_WALL, T_CPU (user+sys of
# CMD and its children) in seconds; CMD's exit status
timed() {
	local rc=0 u s TIMEFORMAT='%3R %3U %3S'
	{ time "$@" >"$W/last.out" 2>&1; } 2>"$W/time.out" || rc=$?
	read -r T_WALL u s <"$W/time.out" || true
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
	return "$rc"
}
# cpu_of PID: user+sys+cutime+cstime ticks of a process (0 if gone)
cpu_of() { awk '{ sub(/.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ticks_s() { awk -v a="$1" -v b="$2" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / h }'; }
fail() {  # row message
	log "  $1: FAILED: $2"
	FAILED[$1]=$2
}
last_out() { tail -n 3 "$W/last.out" 2>/dev/null | tr '\n' ' ' | cut -c1-300; }

# ---- inputs
log "building the layer from /{${LAYER_DIRS// /,}}"
# shellcheck disable=SC2086
tar -C / --sort=name -cf "$W/layer.tar" $LAYER_DIRS 2>"$W/tar-c.log" ||
	log "  tar reported problems (files changed while read?): $(tail -n 2 "$W/tar-c.log" | tr '\n' ' ')"
gzip -n -6 -c "$W/layer.tar" >"$W/layer.tar.gz"
TAR_BYTES=$(stat -c %s "$W/layer.tar")
GZ_BYTES=$(stat -c %s "$W/layer.tar.gz")
read -r N_ALL N_REG N_DIR N_SYM N_HARD < <(tar -tvf "$W/layer.tar" | awk '
	{ n++; t = substr($1, 1, 1) } t == "-" { r++ } t == "d" { d++ } t == "l" { l++ } t == "h" { h++ }
	END { print n + 0, r + 0, d + 0, l + 0, h + 0 }')
REG_BYTES=$(tar -tvf "$W/layer.tar" | awk 'substr($1, 1, 1) == "-" { s += $3 } END { printf "%d", s }')
MB() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
log "  layer.tar $(MB "$TAR_BYTES") MB ($N_ALL entries: $N_REG files of $(MB "$REG_BYTES") MB, $N_DIR dirs, $N_SYM symlinks, $N_HARD hard links), layer.tar.gz $(MB "$GZ_BYTES") MB"

TEST_ID='' BIG_ID='' TEST_BYTES=0
if group load; then
	TEST_ID=$(tools/mkimage.sh -o "$W/test.tar" -t shoal-bench/test:1 --layers "$W/x/testlayers")
	TEST_BYTES=$(cat "$W/x/testlayers"/layer*.tar | wc -c)
	# the big image: one layer, layer.tar, in the docker save layout
	# (as tools/mkimage.sh writes it)
	mk_big_image() {
		local a=$W/x/big d cfg
		d=$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
		mkdir -p "$a/$d"
		ln "$W/layer.tar" "$a/$d/layer.tar" 2>/dev/null || cp "$W/layer.tar" "$a/$d/layer.tar"
		printf '1.0' >"$a/$d/VERSION"
		printf '{"id":"%s","created":"1970-01-01T00:00:00Z","os":"linux"}' "$d" >"$a/$d/json"
		printf '{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z","created_by":"tools/bench-images.sh: %s"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
			"$LAYER_DIRS" "$d" >"$W/x/big-config.json"
		cfg=$(sha256sum "$W/x/big-config.json" | cut -d' ' -f1)
		cp "$W/x/big-config.json" "$a/$cfg.json"
		printf '[{"Config":"%s.json","RepoTags":["shoal-bench/big:1"],"Layers":["%s/layer.tar"]}]\n' "$cfg" "$d" >"$a/manifest.json"
		printf '{"shoal-bench/big":{"1":"%s"}}\n' "$d" >"$a/repositories"
		(cd "$a" && tar --format=gnu --mtime=@0 --owner=0 --group=0 --numeric-owner --sort=name \
			-cf "$W/big.tar" manifest.json repositories "$cfg.json" "$d")
		rm -rf "$a"
		BIG_ID=sha256:$cfg
	}
	mk_big_image
	log "  test image $(MB "$(stat -c %s "$W/test.tar")") MB ($TEST_ID), big image $(MB "$(stat -c %s "$W/big.tar")") MB ($BIG_ID)"
fi
# warm: every input in the page cache (cold runs drop it per run anyway)
cat "$W"/layer.tar "$W"/layer.tar.gz "$W"/*.tar >/dev/null 2>&1 || true

# ---- daemons (one per timed run, on a fresh data-root)
NEED_NS=0
group import || group load && NEED_NS=1
if [ "$NEED_NS" = 1 ]; then
	nl_netns_add "$P-s"
	[ "$DOCKER" = 1 ] && nl_netns_add "$P-d"
	nl_bpffs_mount "$BPFFS"
fi
DOCKER_VER=$( [ "$DOCKER" = 1 ] && dockerd --version 2>/dev/null | awk '{print $3}' | tr -d , || echo -)

# daemon_run ENGINE ROW CMD...: fresh data-root, start the daemon, run the
# timed CLI command, check, stop, drop.  ENGINE: shoal | docker.
daemon_run() {
	local eng=$1 row=$2 pid c0 c1 rc=0; shift 2
	if [ "$eng" = shoal ]; then
		nl_rm_tree "$SD/exec"
		fs_new "$SD/data"
		rm -f "$SD/daemon.json"
		if ! nl_shoald_start "$P-s" "$SD" "$BPFFS" bench --storage-driver overlay2; then
			fs_drop "$SD/data"
			fail "$row" "shoald did not start: $(grep -v '^===' "$SD/shoald.log" | tail -n 2 | tr '\n' ' ')"
			return 1
		fi
		pid=$NL_SHOALD_PID
	else
		nl_rm_tree "$DD/x"
		fs_new "$DD/root"
		if ! nl_dockerd_start "$P-d" "$DD" "$DD/root" --storage-driver overlay2; then
			nl_dockerd_stop "$DD"
			fs_drop "$DD/root"
			fail "$row" "dockerd did not start (see $DD/log)"
			return 1
		fi
		pid=$(nl_dockerd_pid "$DD")
	fi
	settle
	c0=$(cpu_of "$pid")
	timed "$@" || rc=$?
	c1=$(cpu_of "$pid")
	T_CPU=$(ticks_s "$c0" "$c1")
	if [ "$rc" = 0 ]; then daemon_check "$eng" "$row" || rc=1; fi
	if [ "$eng" = shoal ]; then
		nl_shoald_stop
		fs_drop "$SD/data"
	else
		nl_dockerd_stop "$DD"
		fs_drop "$DD/root"
	fi
	[ "$rc" = 0 ] || { [ -n "${FAILED[$row]-}" ] || fail "$row" "exit $rc: $(last_out)"; return 1; }
}
# the image is there, with the id it must have
daemon_check() {  # engine row
	local want='' ref='' got
	case $2 in
	*-load-test) want=$TEST_ID ref=shoal-bench/test:1 ;;
	*-load-big) want=$BIG_ID ref=shoal-bench/big:1 ;;
	*-import) ref=shoal-bench/import:1 ;;
	esac
	if [ "$1" = shoal ]; then
		got=$(nl_shoal "$SD" image inspect -f '{{.Id}}' "$ref" 2>&1) || got="?: $got"
	else
		got=$(nl_docker "$DD" image inspect -f '{{.Id}}' "$ref" 2>&1) || got="?: $got"
	fi
	if [ -z "$want" ]; then [[ $got == sha256:* ]] && return 0; else [ "$got" = "$want" ] && return 0; fi
	fail "$2" "image $ref: id '$got', expected ${want:-sha256:...}"
	return 1
}

run_row() {  # row rep
	local row=$1 r=$2 d=$W/ex out secs
	[ -z "${FAILED[$row]-}" ] || return 0
	WALL[$row,$r]=NA CPU[$row,$r]=NA
	case $row in
	tar-xzf | tar-xf | shoal-xgz | shoal-xtar)
		fs_new "$d"
		mkdir "$d/layer"
		settle
		case $row in
		tar-xzf) timed tar -xzf "$W/layer.tar.gz" -C "$d/layer" || fail "$row" "$(last_out)" ;;
		tar-xf) timed tar -xf "$W/layer.tar" -C "$d/layer" || fail "$row" "$(last_out)" ;;
		shoal-xgz) timed "$EXTRACT" -m overlay -s "$TAR_BYTES" "$W/layer.tar.gz" "$d/layer" || fail "$row" "$(last_out)" ;;
		shoal-xtar) timed "$EXTRACT" -m overlay -s "$TAR_BYTES" "$W/layer.tar" "$d/layer" || fail "$row" "$(last_out)" ;;
		esac
		if [ -z "${FAILED[$row]-}" ]; then
			case $row in
			shoal-*)
				# the program's own clock: archive_apply_layer alone
				out=$(cat "$W/last.out")
				secs=$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$out")
				[ -n "$secs" ] || fail "$row" "no secs= in '$out'"
				WALL[$row,$r]=$(awk -v s="${secs:-NA}" 'BEGIN { if (s == "NA") print s; else printf "%.3f", s }')
				;;
			*) WALL[$row,$r]=$T_WALL ;;
			esac
			CPU[$row,$r]=$T_CPU
			ENTRIES[$row]=$(find "$d/layer" -mindepth 1 | wc -l)
		fi
		fs_drop "$d"
		;;
	shoal-import)
		daemon_run shoal "$row" nl_shoal "$SD" import "$W/layer.tar.gz" shoal-bench/import:1 &&
			WALL[$row,$r]=$T_WALL CPU[$row,$r]=$T_CPU
		;;
	docker-import)
		daemon_run docker "$row" nl_docker "$DD" import "$W/layer.tar.gz" shoal-bench/import:1 &&
			WALL[$row,$r]=$T_WALL CPU[$row,$r]=$T_CPU
		;;
	shoal-load-test | shoal-load-big)
		daemon_run shoal "$row" nl_shoal "$SD" load -i "$W/$([ "$row" = shoal-load-test ] && echo test || echo big).tar" &&
			WALL[$row,$r]=$T_WALL CPU[$row,$r]=$T_CPU
		;;
	docker-load-test | docker-load-big)
		daemon_run docker "$row" nl_docker "$DD" load -i "$W/$([ "$row" = docker-load-test ] && echo test || echo big).tar" &&
			WALL[$row,$r]=$T_WALL CPU[$row,$r]=$T_CPU
		;;
	esac
	return 0
}

log "measuring ${ROWS[*]} x $REPS reps (interleaved; fresh ext4 per run; $([ "$DROP_CACHES" = 1 ] && echo "page cache dropped" || echo "inputs warm in the page cache"))"
for rep in $(seq "$REPS"); do
	for row in "${ROWS[@]}"; do
		run_row "$row" "$rep"
		log "  rep $rep ${LABEL[$row]}: ${WALL[$row,$rep]-NA} s, cpu ${CPU[$row,$rep]-NA} s${FAILED[$row]:+ (FAILED)}"
	done
done

# ------------------------------------------------------------ report
mbs() {  # bytes secs
	awk -v b="$1" -v s="$2" 'BEGIN { if (s == "NA" || s + 0 == 0) print "NA"; else printf "%.1f", b / 1e6 / s }'
}
speed() {  # ref_secs row_secs -> ref/row (> 1: the row is faster)
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || a == "" || b == "" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'
}
bytes_of() {  # row -> uncompressed layer bytes it handles
	case $1 in *-load-test) echo "$TEST_BYTES" ;; *) echo "$TAR_BYTES" ;; esac
}
target() {  # description value op limit
	local desc=$1 val=$2 op=$3 lim=$4 res
	res=$(awk -v v="$val" -v l="$lim" -v op="$op" 'BEGIN {
		if (v == "NA" || v == "") { print "n/a "; exit }
		ok = (op == ">=") ? v >= l : (op == "<=") ? v <= l : (op == ">") ? v > l : v < l
		print ok ? "PASS" : "MISS" }')
	printf '  %s  %-58s %8s  (target %s %s)\n' "$res" "$desc" "$val" "$op" "$lim"
}

declare -A M_W M_C
for row in "${ROWS[@]}"; do M_W[$row]=$(med WALL "$row"); M_C[$row]=$(med CPU "$row"); done
has_row() { [[ " ${ROWS[*]} " == *" $1 "* ]] && [ -z "${FAILED[$1]-}" ]; }
ref_secs() { local r=${REF[$1]-}; if [ -n "$r" ] && has_row "$r"; then echo "${M_W[$r]}"; else echo NA; fi; }

{
	echo
	echo "# shoal bench, part 3 (images)  $(date -u +%FT%TZ)  host=$(hostname)  kernel=$(uname -r)  cpus=$(nproc)"
	echo "# loadavg at start: $LOAD0  at end: $(cut -d' ' -f1-3 /proc/loadavg)  (other load on the machine disturbs the numbers)"
	echo "# layer: /{${LAYER_DIRS// /,}}: $N_ALL entries ($N_REG files, $(MB "$REG_BYTES") MB; $N_DIR dirs, $N_SYM symlinks, $N_HARD hard links); layer.tar $(MB "$TAR_BYTES") MB, layer.tar.gz $(MB "$GZ_BYTES") MB (gzip -6)"
	echo "# every run into a fresh ext4 ($IMG_FS_SIZE sparse image on a loop device, mkfs'd per run); sync before each run; $([ "$DROP_CACHES" = 1 ] && echo "page cache dropped before each run (cold)" || echo "inputs warm in the page cache, no fsync at the end of a run")"
	echo "# $(tar --version | head -1); shoal $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- user 2>/dev/null || echo '+uncommitted'), libarchive $(dpkg-query -W -f='${Version}' libarchive13 2>/dev/null || echo '?'); dockerd ${DOCKER_VER}; daemons: overlay2, fresh data-root per run"
	echo "# median of $REPS reps, interleaved ${ROWS[*]} per rep; MB/s = uncompressed layer bytes / s ($(MB "$TAR_BYTES") MB; test image layers $(MB "$TEST_BYTES") MB)"
	printf '%-30s %8s %8s %6s %8s  %s\n' path secs MB/s xref cpu_s "per rep secs"
	for row in "${ROWS[@]}"; do
		if [ -n "${FAILED[$row]-}" ]; then
			printf '%-30s FAILED: %s\n' "${LABEL[$row]}" "${FAILED[$row]}"
			continue
		fi
		printf '%-30s %8s %8s %6s %8s  %s\n' "${LABEL[$row]}" "${M_W[$row]}" \
			"$(mbs "$(bytes_of "$row")" "${M_W[$row]}")" "$(speed "$(ref_secs "$row")" "${M_W[$row]}")" \
			"${M_C[$row]}" "$(reps WALL "$row")"
	done
	echo "# xref = secs of the reference / secs of the row (> 1: shoal is faster): shoal extract vs GNU tar on the same file,"
	echo "#   shoal import/load vs docker import/load of the same archive"
	echo "# shoal extract = archive_apply_layer (tools/bench/extract.c), its own CLOCK_MONOTONIC; tar and CLI rows: wall time of the command"
	echo "# cpu_s: extract rows = user+sys of the command (tar -xzf includes its gzip); daemon rows = CPU of the daemon (and reaped children) during the run"
	echo "# shoal import does more than tar -xzf: blob stored + uncompressed diff written, fsync'd and both sha256'd, then extracted"
	if group extract; then
		local_e=
		for row in tar-xzf shoal-xgz tar-xf shoal-xtar; do
			has_row "$row" && local_e+="$row=${ENTRIES[$row]-?} "
		done
		echo "# entries found after extraction (tar lists $N_ALL): $local_e"
	fi
	echo
	echo "targets"
	if group extract; then
		target "shoal extraction .tar.gz / tar -xzf (speed)" "$(has_row shoal-xgz && speed "$(ref_secs shoal-xgz)" "${M_W[shoal-xgz]}" || echo NA)" '>=' 1.00
		target "shoal extraction .tar / tar -xf (speed)" "$(has_row shoal-xtar && speed "$(ref_secs shoal-xtar)" "${M_W[shoal-xtar]}" || echo NA)" '>=' 1.00
	fi
	if has_row shoal-import; then
		printf '  info  shoal import .tar.gz end to end: %s MB/s' "$(mbs "$TAR_BYTES" "${M_W[shoal-import]}")"
		has_row tar-xzf && printf ', %sx the speed of tar -xzf' "$(speed "${M_W[tar-xzf]}" "${M_W[shoal-import]}")"
		has_row docker-import && printf ', %sx the speed of docker import' "$(speed "${M_W[docker-import]}" "${M_W[shoal-import]}")"
		echo " (not the same work as tar -xzf: no target)"
	fi
	if group load && [ "$DOCKER" = 1 ]; then
		target "shoal load / docker load, test image (speed)" "$(has_row shoal-load-test && speed "$(ref_secs shoal-load-test)" "${M_W[shoal-load-test]}" || echo NA)" '>=' 1.00
		target "shoal load / docker load, big image (speed)" "$(has_row shoal-load-big && speed "$(ref_secs shoal-load-big)" "${M_W[shoal-load-big]}" || echo NA)" '>=' 1.00
	elif group load; then
		echo "  n/a   shoal load vs docker load: DOCKER=0 (dockerd not installed or disabled)"
	fi
} | tee -a "$RESULT_FILE"
log "table appended to $RESULT_FILE"

rc=0
for row in "${ROWS[@]}"; do [ -z "${FAILED[$row]-}" ] || rc=1; done
exit $rc
