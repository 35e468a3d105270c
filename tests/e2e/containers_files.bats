#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A container's files from outside: `shoal cp` both ways (files,
# directories, the "/." form, tar streams on stdin/stdout, running and
# stopped containers, volume mounts, -a owners, errors), escape attempts
# through container symlinks and hostile tars, `shoal export` then
# `import` and `run`, `shoal diff`, and the unmodified docker CLI for all
# three. Real shoald, real overlayfs, the busybox image of mkimage.sh.

bats_require_minimum_version 1.5.0
load helpers
load image_helpers
load container_helpers

setup_file() { ctr_file_setup; }

setup() {
	ctr_test_setup
	L="$W/local"
	mkdir -p "$L"
}

teardown() {
	[ -n "${W:-}" ] && stop_shoald 9
	e2e_teardown
}

IMAGE=shoal/busybox

sum() { sha256sum "$1" | cut -d' ' -f1; }

# A small tree: a binary file, a nested dir, a symlink, a hard link.
mk_tree() {
	mkdir -p "$1/sub/deeper"
	head -c 300000 /dev/urandom >"$1/blob"
	echo hello >"$1/sub/deeper/f"
	ln -s sub/deeper/f "$1/link"
	ln "$1/blob" "$1/blob.hard"
}

@test "cp: file and directory both ways, byte-identical; into a dir, onto a new name, the /. form" {
	mk_tree "$L/t"
	id=$(ctr_run c1 'sleep 1000')
	# local file -> a new name in the container, and back
	shoal cp "$L/t/blob" c1:/tmp/blob.copy
	shoal cp c1:/tmp/blob.copy "$L/back"
	[ "$(sum "$L/back")" = "$(sum "$L/t/blob")" ]
	[ "$(ctr_exec c1 sha256sum /tmp/blob.copy | cut -d' ' -f1)" = "$(sum "$L/t/blob")" ]
	# file into an existing directory keeps its name
	shoal cp "$L/t/blob" c1:/tmp/
	ctr_exec c1 test -f /tmp/blob
	# a file onto an existing file replaces it
	echo new >"$L/small"
	shoal cp "$L/small" c1:/tmp/blob.copy
	[ "$(ctr_exec c1 cat /tmp/blob.copy)" = new ]
	# directory into an existing dir goes inside it; to a new name becomes that name
	shoal cp "$L/t" c1:/tmp
	shoal cp "$L/t" c1:/tmp/renamed
	[ "$(ctr_exec c1 cat /tmp/t/sub/deeper/f)" = hello ]
	[ "$(ctr_exec c1 cat /tmp/renamed/sub/deeper/f)" = hello ]
	[ "$(ctr_exec c1 readlink /tmp/t/link)" = sub/deeper/f ]
	# the hard link stays one
	[ "$(ctr_exec c1 stat -c %i /tmp/t/blob)" = "$(ctr_exec c1 stat -c %i /tmp/t/blob.hard)" ]
	# the /. form copies the content only
	ctr_exec c1 mkdir /tmp/only
	shoal cp "$L/t/." c1:/tmp/only
	ctr_exec c1 test -f /tmp/only/blob
	run ctr_exec c1 test -e /tmp/only/t
	[ "$status" -ne 0 ]
	# container dir -> local: inside an existing dir, to a new name, /. into a dir
	mkdir "$L/in"
	shoal cp c1:/tmp/t "$L/in"
	[ "$(sum "$L/in/t/blob")" = "$(sum "$L/t/blob")" ]
	[ "$(readlink "$L/in/t/link")" = sub/deeper/f ]
	shoal cp c1:/tmp/t "$L/new"
	[ "$(cat "$L/new/sub/deeper/f")" = hello ]
	mkdir "$L/dot"
	shoal cp c1:/tmp/t/. "$L/dot"
	[ "$(sum "$L/dot/blob")" = "$(sum "$L/t/blob")" ]
	[ ! -e "$L/dot/t" ]
	# the same through `shoal container cp`
	shoal container cp c1:/etc/hostname "$L/hn"
	[ "$(cat "$L/hn")" = "$(ctr_exec c1 hostname)" ]
}

@test "cp: - streams a tar on stdout and takes one on stdin; a stopped container works too" {
	id=$(ctr_run c1 'mkdir -p /srv/d && echo one >/srv/d/a && echo two >/srv/d/b && sleep 1000')
	wait_for ctr_exec c1 test -f /srv/d/b
	shoal cp c1:/srv/d - >"$W/out.tar"
	run tar -tf "$W/out.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"d/a"* ]] && [[ "$output" == *"d/b"* ]]
	[ "$(tar -xOf "$W/out.tar" d/b)" = two ]
	mkdir -p "$L/x/y" && echo three >"$L/x/y/c"
	tar -cf - -C "$L/x" . | shoal cp - c1:/srv/d
	[ "$(ctr_exec c1 cat /srv/d/y/c)" = three ]
	# the whole root of a running container: its files, not /proc's or /dev's nodes
	shoal cp c1:/ "$L/root"
	[ -x "$L/root/bin/busybox" ] && [ "$(cat "$L/root/srv/d/a")" = one ]
	[ -d "$L/root/proc" ] && [ -z "$(ls -A "$L/root/proc")" ]
	[ ! -e "$L/root/dev/null" ]
	# stdin needs an existing directory
	run shoal cp - c1:/srv/d/a <"$W/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"must be a directory"* ]]
	# stopped: both ways still work, on the container's own layer
	shoal stop -t 1 c1 >/dev/null
	[ "$(ctr_field c1 .State.Status)" = exited ]
	shoal cp c1:/srv/d/y/c "$L/c.back"
	[ "$(cat "$L/c.back")" = three ]
	echo four >"$L/four"
	shoal cp "$L/four" c1:/srv/four
	shoal start c1 >/dev/null
	[ "$(ctr_exec c1 cat /srv/four)" = four ]
}

@test "cp: into a volume mount of a running container lands in the volume; of a stopped one too" {
	body=$(jq -nc '{Image: "shoal/busybox", Cmd: ["sleep", "1000"], HostConfig: {Binds: ["cpvol:/data"]}}')
	id=$(ctr_create v1 "$body")
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204'
	head -c 100000 /dev/urandom >"$L/payload"
	shoal cp "$L/payload" v1:/data/p
	mp=$(shoal volume inspect -f '{{.Mountpoint}}' cpvol)
	[ "$(sum "$mp/p")" = "$(sum "$L/payload")" ]
	shoal stop -t 1 v1 >/dev/null
	shoal cp "$L/payload" v1:/data/q
	[ "$(sum "$mp/q")" = "$(sum "$L/payload")" ]
	shoal cp v1:/data/p "$L/p.back"
	[ "$(sum "$L/p.back")" = "$(sum "$L/payload")" ]
}

@test "cp: -a keeps uid/gid, without it the container side is root's" {
	id=$(ctr_run c1 'sleep 1000')
	echo owned >"$L/owned"
	chown 1234:5678 "$L/owned"
	shoal cp "$L/owned" c1:/tmp/plain
	shoal cp -a "$L/owned" c1:/tmp/kept
	[ "$(ctr_exec c1 stat -c %u:%g /tmp/plain)" = 0:0 ]
	[ "$(ctr_exec c1 stat -c %u:%g /tmp/kept)" = 1234:5678 ]
	shoal cp -a c1:/tmp/kept "$L/kept.back"
	[ "$(stat -c %u:%g "$L/kept.back")" = 1234:5678 ]
	shoal cp c1:/tmp/kept "$L/plain.back"
	[ "$(stat -c %u:%g "$L/plain.back")" = "$(id -u):$(id -g)" ]
}

@test "cp: errors: a missing path, an unknown container, a missing local source, a dir onto a file" {
	id=$(ctr_run c1 'sleep 1000')
	run shoal cp c1:/no/such "$L/x"
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: Could not find the file /no/such in container c1" ]
	[ ! -e "$L/x" ]
	run shoal cp nosuchctr:/etc/passwd "$L/x"
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: No such container: nosuchctr" ]
	run shoal cp "$L/nothing-here" c1:/tmp
	[ "$status" -eq 1 ]
	[[ "$output" == *"$L/nothing-here"*"No such file or directory"* ]]
	run shoal cp "$L" c1:/etc/passwd
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot copy a directory to a file"* ]]
	run shoal cp "$L/a" "$L/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"must specify at least one container source"* ]]
	# the API's own answers
	run api GET "/containers/c1/archive?path=/no/such"
	[ "${lines[-1]}" = "HTTP 404" ]
	run api HEAD "/containers/c1/archive?path=/etc"
	[ "${lines[-1]}" = "HTTP 200" ]
	run api PUT "/containers/c1/archive?path=/etc/passwd" x
	[ "${lines[-1]}" = "HTTP 400" ]
	[[ "$output" == *"extraction point is not a directory"* ]]
}

@test "cp: container symlinks to / and ../../.. resolve inside the container, never on the host" {
	id=$(ctr_run esc 'echo ctr-secret >/passwd; rm -rf /etc2; ln -s / /etc2; mkdir -p /x; ln -s ../../.. /x/up; mkdir -p /y; ln -s /tmp /y/t; sleep 1000')
	wait_for ctr_exec esc test -L /x/up
	# /etc2/passwd and /x/up/passwd are the container's /passwd
	shoal cp esc:/etc2/passwd "$L/p1"
	shoal cp esc:/x/up/passwd "$L/p2"
	[ "$(cat "$L/p1")" = ctr-secret ]
	[ "$(cat "$L/p2")" = ctr-secret ]
	# a path to the host's /etc/shadow through them is the container's (none)
	run shoal cp esc:/x/up/etc/shadow "$L/s"
	[ "$status" -eq 1 ]
	[ ! -e "$L/s" ]
	# writes through them stay in the container too
	hostdir=$(mktemp -d "$W/hostside.XXXXXX")
	echo x >"$L/f"
	shoal cp "$L/f" "esc:/x/up$hostdir/"  2>/dev/null || true
	shoal cp "$L/f" "esc:/y/t/"
	[ -z "$(ls -A "$hostdir")" ]
	[ "$(ctr_exec esc cat /tmp/f)" = x ]
	# an image whose /etc is a symlink to /, stopped and running
	mkdir -p "$L/root/bin"
	cp /bin/busybox "$L/root/bin/busybox"
	ln -s / "$L/root/etc"
	echo img-secret >"$L/root/passwd"
	tar -C "$L/root" -cf - . | shoal import - esc/etclink >/dev/null
	shoal create --name es2 esc/etclink /bin/busybox sleep 1000 >/dev/null
	shoal cp es2:/etc/passwd "$L/p3"
	[ "$(cat "$L/p3")" = img-secret ]
	shoal start es2 >/dev/null
	shoal cp es2:/etc/passwd "$L/p4"
	[ "$(cat "$L/p4")" = img-secret ]
	probe="cp-probe-$P"
	echo x >"$L/$probe"
	shoal cp "$L/$probe" es2:/etc/
	[ "$(ctr_exec es2 /bin/busybox cat "/$probe")" = x ]
	[ ! -e "/$probe" ] && [ ! -e "/etc/$probe" ]
}

@test "cp: hostile tars (../, absolute, symlink then file through it, device node) are refused, the host untouched" {
	id=$(ctr_run esc 'sleep 1000')
	target=$(mktemp -d "$W/target.XXXXXX")
	python3 - "$W" "$target" <<-'EOF'
		import io, sys, tarfile
		w, target = sys.argv[1], sys.argv[2]
		def add(t, name, data=b"pwned", typ=tarfile.REGTYPE, link=""):
		    i = tarfile.TarInfo(name); i.type = typ; i.linkname = link
		    if typ == tarfile.REGTYPE:
		        i.size = len(data); t.addfile(i, io.BytesIO(data))
		    else:
		        t.addfile(i)
		with tarfile.open(w + "/dotdot.tar", "w") as t: add(t, "../../../../../../" + target.lstrip("/") + "/evil")
		with tarfile.open(w + "/abs.tar", "w") as t: add(t, target + "/evil")
		with tarfile.open(w + "/link.tar", "w") as t:
		    add(t, "x", typ=tarfile.SYMTYPE, link=target)
		    add(t, "x/evil")
		with tarfile.open(w + "/hard.tar", "w") as t: add(t, "h", typ=tarfile.LNKTYPE, link="../../../../etc/passwd")
		with tarfile.open(w + "/dev.tar", "w") as t: add(t, "sda", typ=tarfile.BLKTYPE)
	EOF
	for t in dotdot abs link hard dev; do
		run shoal cp - esc:/tmp <"$W/$t.tar"
		[ "$status" -eq 1 ]
		[[ "$output" == "Error response from daemon: archive entry "* ]]
	done
	[ -z "$(ls -A "$target")" ]
	run ctr_exec esc test -e /tmp/x/evil
	[ "$status" -ne 0 ]
	run ctr_exec esc test -e /tmp/sda
	[ "$status" -ne 0 ]
}

@test "docker CLI: cp both ways, cp -, errors" {
	id=$(ctr_run c1 'sleep 1000')
	mk_tree "$L/t"
	dkr cp "$L/t" c1:/tmp/
	[ "$(ctr_exec c1 sha256sum /tmp/t/blob | cut -d' ' -f1)" = "$(sum "$L/t/blob")" ]
	dkr cp c1:/tmp/t "$L/back"
	[ "$(sum "$L/back/blob")" = "$(sum "$L/t/blob")" ]
	[ "$(readlink "$L/back/link")" = sub/deeper/f ]
	dkr cp c1:/tmp/t/. "$L/back2"
	[ "$(sum "$L/back2/blob")" = "$(sum "$L/t/blob")" ]
	dkr cp c1:/etc/hostname - | tar -xO >"$L/hn"
	[ "$(cat "$L/hn")" = "$(ctr_exec c1 hostname)" ]
	run dkr cp c1:/no/such "$L/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Could not find the file /no/such in container c1"* ]]
}

@test "export: a tar of the container's filesystem without its volumes; import of it runs with the same files" {
	body=$(jq -nc '{Image: "shoal/busybox", Cmd: ["sh", "-c", "echo made >/made; mkdir -p /d/e; echo deep >/d/e/f; rm /etc/group; echo in-vol >/vol/x; sleep 1000"], HostConfig: {Binds: ["exvol:/vol"]}}')
	id=$(ctr_create ex1 "$body")
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204'
	wait_for ctr_exec ex1 test -f /vol/x
	shoal export -o "$W/ex.tar" ex1
	run tar -tf "$W/ex.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"made"* ]] && [[ "$output" == *"d/e/f"* ]] && [[ "$output" == *"bin/busybox"* ]]
	[[ "$output" != *"etc/group"* ]]
	[[ "$output" != *"vol/x"* ]]
	# stdout, the same content; a terminal is refused
	shoal container export ex1 >"$W/ex2.tar"
	[ "$(tar -tf "$W/ex2.tar" | sort | sha256sum)" = "$(tar -tf "$W/ex.tar" | sort | sha256sum)" ]
	shoal import "$W/ex.tar" exported:1 >/dev/null
	run shoal run --rm exported:1 cat /made /d/e/f
	[ "$status" -eq 0 ]
	[ "$output" = "made
deep" ]
	run shoal run --rm exported:1 test -e /etc/group
	[ "$status" -eq 1 ]
	[ "$(shoal run --rm exported:1 sha256sum /bin/busybox | cut -d' ' -f1)" = "$(ctr_exec ex1 sha256sum /bin/busybox | cut -d' ' -f1)" ]
	# a stopped container exports too; an unknown one is Docker's 404
	shoal stop -t 1 ex1 >/dev/null
	shoal export ex1 | tar -tf - | grep -qx made
	run shoal export -o "$W/none.tar" nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such container: nosuch"* ]]
	[ ! -e "$W/none.tar" ]
}

@test "diff: A, C and D for what the container added, changed and deleted (an image file too)" {
	id=$(ctr_run d1 'echo x >/new; echo y >>/etc/passwd; rm /etc/shoal-release; mkdir -p /a/b; echo z >/a/b/c; sleep 1000')
	wait_for ctr_exec d1 test -f /a/b/c
	run shoal diff d1
	[ "$status" -eq 0 ]
	echo "$output"
	grep -qx 'A /new' <<<"$output"
	grep -qx 'C /etc' <<<"$output"
	grep -qx 'C /etc/passwd' <<<"$output"
	grep -qx 'D /etc/shoal-release' <<<"$output"
	grep -qx 'A /a' <<<"$output"
	grep -qx 'A /a/b/c' <<<"$output"
	# nothing about what the container did not touch
	! grep -q ' /bin' <<<"$output" || false
	run shoal container diff d1
	[ "$status" -eq 0 ]
	# a directory removed and made again (opaque on overlay2): changed,
	# what the image had in it deleted, the new content added
	id2=$(ctr_run d2 'mkdir /keep; cp /bin/busybox /keep/; /keep/busybox rm -rf /bin; /keep/busybox mkdir /bin; /keep/busybox touch /bin/new; exec /keep/busybox sleep 1000')
	wait_for ctr_exec d2 /keep/busybox test -f /bin/new
	run shoal diff d2
	[ "$status" -eq 0 ]
	grep -qx 'C /bin' <<<"$output"
	grep -qx 'D /bin/sh' <<<"$output"
	grep -qx 'A /bin/new' <<<"$output"
	grep -qx 'A /keep/busybox' <<<"$output"
	run shoal diff nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: No such container: nosuch" ]
}

@test "diff on the vfs driver compares the layer with the image's" {
	stop_shoald
	start_shoald --storage-driver vfs
	[ "$(shoal info --format '{{.Driver}}' 2>/dev/null || shoal info | awk '/Storage Driver/ {print $3}')" = vfs ]
	shoal load -i "$CTR_IMG" >/dev/null
	id=$(ctr_run v1 'echo x >/new; echo y >>/etc/passwd; rm /etc/shoal-release; sleep 1000')
	wait_for ctr_exec v1 test -f /new
	run shoal diff v1
	[ "$status" -eq 0 ]
	echo "$output"
	grep -qx 'A /new' <<<"$output"
	grep -qx 'C /etc/passwd' <<<"$output"
	grep -qx 'D /etc/shoal-release' <<<"$output"
	! grep -q ' /bin' <<<"$output" || false
}

@test "docker CLI: diff and export" {
	id=$(ctr_run d1 'echo x >/new; rm /etc/shoal-release; sleep 1000')
	wait_for ctr_exec d1 test -f /new
	run dkr diff d1
	[ "$status" -eq 0 ]
	grep -qx 'A /new' <<<"$output"
	grep -qx 'D /etc/shoal-release' <<<"$output"
	dkr export -o "$W/dk.tar" d1
	tar -tf "$W/dk.tar" | grep -qx new
}

# The counter a container writes to /tmp/n (renamed into place, never
# seen half-written), read through cp.
counter() { shoal cp "$1":/tmp/n - | tar -xO; }

@test "pause: a paused container's processes are frozen (a counter stops), ps shows (Paused), unpause resumes; stop and kill of a paused container" {
	id=$(ctr_run p1 'trap "exit 3" TERM; i=0; while true; do i=$((i+1)); echo $i >/tmp/n.t; mv /tmp/n.t /tmp/n; sleep 0.05; done')
	wait_for ctr_exec p1 test -s /tmp/n
	run shoal pause p1
	[ "$status" -eq 0 ] && [ "$output" = p1 ]
	a=$(counter p1)
	sleep 1
	b=$(counter p1)
	[ "$a" = "$b" ]
	[ "$(ctr_field p1 .State.Status)" = paused ]
	[ "$(ctr_field p1 .State.Paused)" = true ]
	shoal ps --format '{{.Names}} {{.Status}}' | grep -q '^p1 Up .* (Paused)$'
	# every process of it is frozen: the v1 freezer (this host) or v2
	if [ -d /sys/fs/cgroup/freezer/shoal/"$id" ]; then
		[ "$(cat /sys/fs/cgroup/freezer/shoal/"$id"/freezer.state)" = FROZEN ]
	fi
	run shoal pause p1
	[ "$status" -eq 1 ]
	[[ "$output" == *"is already paused"* ]]
	shoal container unpause p1
	sleep 0.5
	c=$(counter p1)
	[ "$c" -gt "$b" ]
	[ "$(ctr_field p1 .State.Status)" = running ]
	run shoal unpause p1
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not paused"* ]]
	# stop of a paused container: thawed, so its TERM trap runs (exit 3, well before the 10 s)
	shoal container pause p1 >/dev/null
	SECONDS=0
	shoal stop p1 >/dev/null
	[ "$SECONDS" -lt 8 ]
	[ "$(ctr_field p1 .State.ExitCode)" = 3 ]
	[ "$(ctr_field p1 .State.Status)" = exited ]
	[ ! -d /sys/fs/cgroup/freezer/shoal/"$id" ]
	# kill of a paused one
	id2=$(ctr_run p2 'sleep 1000')
	shoal pause p2 >/dev/null
	shoal kill p2 >/dev/null
	ctr_wait_status p2 exited
	[ "$(ctr_field p2 .State.ExitCode)" = 137 ]
	# not running: refused
	run shoal pause p2
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not running"* ]]
}

@test "docker CLI: pause, ps (Paused), unpause" {
	id=$(ctr_run p1 'i=0; while true; do i=$((i+1)); echo $i >/tmp/n.t; mv /tmp/n.t /tmp/n; sleep 0.05; done')
	wait_for ctr_exec p1 test -s /tmp/n
	dkr pause p1
	dkr ps --format '{{.Names}} {{.Status}}' | grep -q '^p1 Up .* (Paused)$'
	a=$(counter p1)
	sleep 0.5
	[ "$(counter p1)" = "$a" ]
	dkr unpause p1
	sleep 0.5
	[ "$(counter p1)" -gt "$a" ]
}
