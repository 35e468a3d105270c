#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# volumes_recipes.bats - volumes on containers (GitHub issue 7): the
# tutorial's recipes verbatim with `shoal` in place of `docker` (a data
# volume in inspect, create/inspect/ls/prune/rm, backup and restore with
# --volumes-from, a data volume container shared by two containers, the
# volume1/volume2 exercise), then what they rest on: in-use refusal,
# read-only mounts, bind sources, copy-up and nocopy, tmpfs and bind
# volume options, rm -v and --rm, bad input, restarts. Real containers
# (the busybox image of tools/mkimage.sh), real mounts.

bats_require_minimum_version 1.5.0
load helpers
load container_helpers

IMAGE=shoal/busybox

setup_file() {
	export VOL_IMG="$BATS_FILE_TMPDIR/img.tar"
	"$ROOT/tools/mkimage.sh" -o "$VOL_IMG" >/dev/null
}

setup() {
	[ -x /bin/busybox ] || skip "busybox-static not installed (make deps)"
	e2e_setup
	start_shoald
	shoal load -i "$VOL_IMG" >/dev/null
	cd "$W"
}

teardown() {
	cd /
	[ -n "${W:-}" ] || return 0
	if [ -f "$W/loopdev" ]; then
		umount "$W/data/volumes/extvol/_data" 2>/dev/null || true
		losetup -d "$(cat "$W/loopdev")" 2>/dev/null || true
	fi
	e2e_teardown
}

# The volume names a container mounts, in its inspect order.
vol_names() {
	shoal inspect -f '{{json .Mounts}}' "$1" | jq -r '.[] | select(.Type == "volume") | .Name'
}

@test "recipe 1: run -d -v /webapp, inspect shows the anonymous volume" {
	run shoal run -d --name web -v /webapp $IMAGE sleep 1000
	[ "$status" -eq 0 ]
	run shoal inspect web
	[ "$status" -eq 0 ]
	m=$(echo "$output" | jq -c '.[0].Mounts')
	[ "$(echo "$m" | jq length)" -eq 1 ]
	name=$(echo "$m" | jq -r '.[0].Name')
	[[ "$name" =~ ^[0-9a-f]{64}$ ]]
	[ "$(echo "$m" | jq -r '.[0].Type')" = volume ]
	[ "$(echo "$m" | jq -r '.[0].Source')" = "$W/data/volumes/$name/_data" ]
	[ "$(echo "$m" | jq -r '.[0].Destination')" = /webapp ]
	[ "$(echo "$m" | jq -r '.[0].Driver')" = local ]
	[ "$(echo "$m" | jq -r '.[0].Mode')" = "" ]
	[ "$(echo "$m" | jq -r '.[0].RW')" = true ]
	[ "$(echo "$m" | jq -r '.[0].Propagation')" = "" ]
	[ "$(echo "$m" | jq -r '.[0] | keys_unsorted | join(",")')" = \
		"Type,Name,Source,Destination,Driver,Mode,RW,Propagation" ]
	[ "$(echo "$output" | jq -c '.[0].Config.Volumes')" = '{"/webapp":{}}' ]
	# It is the directory the container writes to.
	shoal exec web sh -c 'echo hello > /webapp/f'
	[ "$(cat "$W/data/volumes/$name/_data/f")" = hello ]
	# Docker >= 23 labels anonymous volumes.
	[ "$(shoal volume inspect -f '{{json .Labels}}' "$name")" = '{"com.docker.volume.anonymous":""}' ]
}

@test "recipe 2: volume create/inspect/ls/prune/rm with anonymous volumes around" {
	shoal create --name holder -v /held $IMAGE true >/dev/null
	shoal run --name gone -v /tmpdata $IMAGE true
	anon_gone=$(vol_names gone)
	anon_held=$(vol_names holder)
	shoal rm gone >/dev/null

	run shoal volume create --name new_volume
	[ "$output" = new_volume ]
	run shoal volume inspect new_volume
	[ "$(echo "$output" | jq -r '.[0].Name')" = new_volume ]
	run shoal volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[ "${#lines[@]}" -eq 4 ]

	# prune: unused anonymous volumes only (anon_held is used by holder).
	run shoal volume prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = "$anon_gone" ]
	[ "${lines[2]}" = "Total reclaimed space: 0B" ]
	[ "${#lines[@]}" -eq 3 ]
	run shoal volume ls -q
	[ "$output" = "$(printf '%s\n%s' "$anon_held" new_volume | sort)" ]
	# -a: named ones too, still not what a container uses.
	run shoal volume prune -a -f
	[ "${lines[1]}" = new_volume ]
	[ "$(shoal volume ls -q)" = "$anon_held" ]

	shoal volume create --name new_volume1 >/dev/null
	run shoal volume rm new_volume1
	[ "$status" -eq 0 ]
	[ "$output" = new_volume1 ]
	[ "$(shoal volume ls -q)" = "$anon_held" ]
}

@test "recipe 3: backup and restore through --volumes-from, byte-identical" {
	shoal create -v /dbdata --name dbstore $IMAGE /bin/true >/dev/null
	shoal run --rm --volumes-from dbstore $IMAGE sh -c \
		'mkdir -p /dbdata/sub && head -c 200000 /dev/urandom > /dbdata/big &&
		 echo one > /dbdata/sub/one && ln -s sub/one /dbdata/link && chmod 600 /dbdata/sub/one'
	orig=$(shoal run --rm --volumes-from dbstore $IMAGE sh -c \
		'cd /dbdata && find . -type f | sort | xargs sha256sum')
	[ -n "$orig" ]

	run shoal run --rm --volumes-from dbstore -v $(pwd):/backup $IMAGE tar cvf /backup/backup.tar /dbdata
	[ "$status" -eq 0 ]
	[ -s "$W/backup.tar" ]

	run shoal run -v /dbdata --name dbstore2 $IMAGE /bin/sh -c true
	[ "$status" -eq 0 ]
	run shoal run --rm --volumes-from dbstore2 -v $(pwd):/backup $IMAGE sh -c "cd /dbdata && tar xvf /backup/backup.tar --strip 1"
	[ "$status" -eq 0 ]

	restored=$(shoal run --rm --volumes-from dbstore2 $IMAGE sh -c \
		'cd /dbdata && find . -type f | sort | xargs sha256sum')
	[ "$restored" = "$orig" ]
	# Also on the host: two distinct volumes, same bytes.
	v1=$(vol_names dbstore) v2=$(vol_names dbstore2)
	[ "$v1" != "$v2" ]
	cmp "$W/data/volumes/$v1/_data/big" "$W/data/volumes/$v2/_data/big"
	[ "$(stat -c %a "$W/data/volumes/$v2/_data/sub/one")" = 600 ]
	[ "$(readlink "$W/data/volumes/$v2/_data/link")" = sub/one ]
}

@test "recipe 4: a data volume container shared by db1 and db2" {
	shoal create -v /dbdata --name dbstore $IMAGE /bin/true >/dev/null
	shoal run -d --volumes-from dbstore --name db1 $IMAGE sleep 1000 >/dev/null
	shoal run -d --volumes-from dbstore --name db2 $IMAGE sleep 1000 >/dev/null
	vol=$(vol_names dbstore)
	[ "$(vol_names db1)" = "$vol" ]
	[ "$(vol_names db2)" = "$vol" ]

	shoal exec db1 sh -c 'echo from-db1 > /dbdata/shared'
	[ "$(shoal exec db2 cat /dbdata/shared)" = from-db1 ]

	# Removing dbstore (even with -v) and db1 keeps the data for db2.
	shoal rm -v dbstore >/dev/null
	shoal rm -f -v db1 >/dev/null
	[ "$(shoal exec db2 cat /dbdata/shared)" = from-db1 ]
	shoal exec db2 sh -c 'echo still > /dbdata/more'
	[ "$(cat "$W/data/volumes/$vol/_data/more")" = still ]
	run shoal volume ls -q
	[ "$output" = "$vol" ]
}

@test "recipe 5: volume1 on Web, volume2 unused; prune -a takes volume2, then volume1" {
	shoal volume create volume1 >/dev/null
	shoal run -d --name Web -v volume1:/webdata $IMAGE sleep 1000 >/dev/null
	shoal exec Web sh -c 'echo keep > /webdata/note'
	shoal volume create volume2 >/dev/null

	shoal stop -t 1 Web >/dev/null
	run shoal volume rm volume1
	[ "$status" -eq 1 ]
	[[ "$output" == *"remove volume1: volume is in use - ["*"(container Web)"* ]]
	shoal rm Web >/dev/null
	# The data outlives the container.
	[ "$(cat "$W/data/volumes/volume1/_data/note")" = keep ]
	[ "$(shoal run --rm -v volume1:/webdata $IMAGE cat /webdata/note)" = keep ]

	shoal run -d --name Web -v volume1:/webdata $IMAGE sleep 1000 >/dev/null
	run shoal volume prune -a -f
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = volume2 ]
	[ "$(shoal volume ls -q)" = volume1 ]
	shoal rm -f Web >/dev/null
	run shoal volume prune -a -f
	[ "${lines[1]}" = volume1 ]
	[[ "${lines[-1]}" == "Total reclaimed space: 5B" ]]
	[ -z "$(shoal volume ls -q)" ]
	[ ! -e "$W/data/volumes/volume1" ]
}

@test "volume rm refuses a volume of a running and of a stopped container, naming it" {
	shoal run -d --name runner -v busyvol:/v $IMAGE sleep 1000 >/dev/null
	id=$(shoal inspect -f '{{.Id}}' runner)
	run shoal volume rm busyvol
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: remove busyvol: volume is in use - [$id] (container runner)" ]
	run api DELETE /v1.41/volumes/busyvol?force=1
	[ "${lines[-1]}" = "HTTP 409" ]
	shoal stop -t 1 runner >/dev/null
	[ "$(shoal inspect -f '{{.State.Status}}' runner)" = exited ]
	run shoal volume rm busyvol
	[ "$status" -eq 1 ]
	[[ "$output" == *"volume is in use - [$id] (container runner)"* ]]
	shoal create --name never -v busyvol:/v $IMAGE true >/dev/null
	run shoal volume rm busyvol
	[[ "$output" == *"(containers runner, never)"* ]]
	[ -d "$W/data/volumes/busyvol/_data" ]
	run shoal volume ls -q --filter dangling=false
	[ "$output" = busyvol ]
	shoal rm runner never >/dev/null
	run shoal volume ls -q --filter dangling=true
	[ "$output" = busyvol ]
	run shoal volume rm busyvol
	[ "$status" -eq 0 ]
}

@test ":ro is read-only (EROFS) for volumes and binds; :rw and --mount readonly" {
	mkdir "$W/hostdir"
	echo host > "$W/hostdir/f"
	run shoal run --rm -v rovol:/data:ro -v "$W/hostdir:/h:ro" $IMAGE sh -c \
		'echo x > /data/new; echo "vol=$?"; echo x > /h/f; echo "bind=$?"; cat /h/f'
	[ "$status" -eq 0 ]
	[[ "$output" == *"/data/new: Read-only file system"* ]]
	[[ "$output" == *"/h/f: Read-only file system"* ]]
	[[ "$output" == *"vol=1"* ]]
	[[ "$output" == *"bind=1"* ]]
	[ "$(cat "$W/hostdir/f")" = host ]
	run shoal run --rm --mount type=volume,source=rovol,target=/data,readonly $IMAGE sh -c 'touch /data/y'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	run shoal run --rm -v rovol:/data:rw $IMAGE sh -c 'touch /data/y && echo ok'
	[ "$output" = ok ]
	# Inspect says so, as Docker does.
	shoal create --name ro -v rovol:/data:ro -v "$W/hostdir:/h:ro" $IMAGE true >/dev/null
	run shoal inspect -f '{{json .Mounts}}' ro
	[ "$(echo "$output" | jq -c '[.[] | {Type, Mode, RW, Propagation}]')" = \
		'[{"Type":"volume","Mode":"ro","RW":false,"Propagation":""},{"Type":"bind","Mode":"ro","RW":false,"Propagation":"rprivate"}]' ]
	# --volumes-from C:ro makes C's read-write volume read-only here.
	shoal create --name rw -v rovol:/data $IMAGE true >/dev/null
	run shoal run --rm --volumes-from rw:ro $IMAGE sh -c 'touch /data/z'
	[[ "$output" == *"Read-only file system"* ]]
}

@test "binds: -v makes a missing host dir, --mount refuses it; a single file" {
	run shoal run --rm -v "$W/made/deep:/m" $IMAGE sh -c 'echo in > /m/f'
	[ "$status" -eq 0 ]
	[ "$(cat "$W/made/deep/f")" = in ]

	before=$(shoal ps -aq | wc -l)
	run shoal run --rm --mount "type=bind,source=$W/missing,target=/m" $IMAGE true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid mount config for type \"bind\": bind source path does not exist: $W/missing"* ]]
	[ ! -e "$W/missing" ]
	[ "$(shoal ps -aq | wc -l)" -eq "$before" ]

	printf 'single file\n' > "$W/one.txt"
	run shoal run --rm -v "$W/one.txt:/etc/one.txt" $IMAGE cat /etc/one.txt
	[ "$output" = "single file" ]
	run shoal run --rm --mount "type=bind,source=$W/one.txt,target=/one" $IMAGE sh -c 'echo more >> /one'
	[ "$(cat "$W/one.txt")" = $'single file\nmore' ]
}

@test "copy-up: an empty volume gets the image's content; nocopy and non-empty do not" {
	run shoal run --rm -v cu:/data $IMAGE ls /data
	[ "$output" = $'a\nc\nold' ]
	[ "$(cat "$W/data/volumes/cu/_data/old/new")" = new ]
	# Not again once it has content: a change stays.
	rm "$W/data/volumes/cu/_data/a"
	run shoal run --rm -v cu:/data $IMAGE ls /data
	[ "$output" = $'c\nold' ]
	# nocopy (in -v and --mount) leaves it empty.
	run shoal run --rm -v nc:/data:nocopy $IMAGE ls -A /data
	[ -z "$output" ]
	run shoal run --rm --mount type=volume,source=nc2,target=/data,volume-nocopy $IMAGE ls -A /data
	[ -z "$output" ]
	# Anonymous volumes too; a path the image lacks gives an empty volume.
	run shoal run --rm -v /data -v /nothere $IMAGE sh -c 'ls /data; ls -A /nothere'
	[ "$output" = $'a\nc\nold' ]
}

@test "image VOLUME entries get anonymous volumes with the image's content" {
	"$ROOT/tools/mkimage.sh" -o "$W/vimg.tar" -t shoal/withvol:latest --volume /data >/dev/null
	shoal load -i "$W/vimg.tar" >/dev/null
	shoal create --name iv shoal/withvol ls /data >/dev/null
	[ "$(shoal inspect -f '{{json .Config.Volumes}}' iv)" = '{"/data":{}}' ]
	vol=$(vol_names iv)
	[[ "$vol" =~ ^[0-9a-f]{64}$ ]]
	shoal start iv >/dev/null
	[ "$(shoal wait iv)" = 0 ]
	[ "$(shoal logs iv)" = $'a\nc\nold' ]
	[ "$(cat "$W/data/volumes/$vol/_data/c")" = c ]
	# A mount of the user's on that path replaces the image's volume.
	shoal create --name iv2 -v mine:/data shoal/withvol true >/dev/null
	[ "$(vol_names iv2)" = mine ]
	# --rm takes the anonymous one along.
	before=$(shoal volume ls -q | wc -l)
	shoal run --rm shoal/withvol true
	[ "$(shoal volume ls -q | wc -l)" -eq "$before" ]
}

@test "volume options: tmpfs mounted when used, shared, gone with the volume; bind volume keeps host files" {
	shoal volume create -o type=tmpfs -o device=tmpfs -o o=size=2m,mode=0750 tv >/dev/null
	! mountpoint -q "$W/data/volumes/tv/_data" || false
	run shoal run -d --name t1 -v tv:/t $IMAGE sleep 1000
	[ "$status" -eq 0 ]
	run shoal exec t1 sh -c 'grep " /t " /proc/mounts'
	[[ "$output" == "tmpfs /t tmpfs "*"size=2048k"*"mode=750"* ]]
	mountpoint -q "$W/data/volumes/tv/_data"
	shoal exec t1 sh -c 'echo in-ram > /t/f'
	# A second container sees the same tmpfs.
	[ "$(shoal run --rm -v tv:/t $IMAGE cat /t/f)" = in-ram ]
	shoal rm -f t1 >/dev/null
	shoal volume rm tv >/dev/null
	! mountpoint -q "$W/data/volumes/tv/_data" || false
	[ ! -e "$W/data/volumes/tv" ]

	mkdir -p "$W/outside"
	echo precious > "$W/outside/keep"
	shoal volume create -o type=none -o o=bind -o device="$W/outside" bv >/dev/null
	[ "$(shoal run --rm -v bv:/b $IMAGE cat /b/keep)" = precious ]
	shoal run --rm -v bv:/b $IMAGE sh -c 'echo written > /b/new'
	[ "$(cat "$W/outside/new")" = written ]
	# Removing the volume unmounts it and never deletes through the bind.
	shoal volume rm bv >/dev/null
	[ "$(cat "$W/outside/keep")" = precious ]
	[ -f "$W/outside/new" ]

	# A device volume (ext4 on a loop device).
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed"
	truncate -s 16M "$W/ext.img"
	mkfs.ext4 -q "$W/ext.img"
	losetup -f --show "$W/ext.img" > "$W/loopdev" || skip "no loop device available"
	shoal volume create -o type=ext4 -o device="$(cat "$W/loopdev")" extvol >/dev/null
	run shoal run --rm -v extvol:/x $IMAGE sh -c 'grep " /x " /proc/mounts; ls /x'
	[[ "$output" == *" /x ext4 "* ]]
	[[ "$output" == *"lost+found"* ]]
	shoal volume rm extvol >/dev/null
	! mountpoint -q "$W/data/volumes/extvol/_data" || false
}

@test "--mount: volume-opt for a volume made on first use, volume-label, tmpfs with size and mode" {
	run shoal run --rm --mount type=volume,source=optvol,target=/m,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m,volume-label=made=bymount \
		$IMAGE sh -c 'grep " /m " /proc/mounts'
	[ "$status" -eq 0 ]
	[[ "$output" == "tmpfs /m tmpfs "*"size=1024k"* ]]
	[ "$(shoal volume inspect -f '{{json .Options}} {{json .Labels}}' optvol)" = \
		'{"device":"tmpfs","o":"size=1m","type":"tmpfs"} {"made":"bymount"}' ]
	run shoal run --rm --mount type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770 $IMAGE sh -c 'grep " /t " /proc/mounts'
	[[ "$output" == "tmpfs /t tmpfs "*"size=2048k"*"mode=1770"* ]]
	run shoal run --rm --tmpfs /run:size=3m $IMAGE sh -c 'grep " /run " /proc/mounts'
	[[ "$output" == "tmpfs /run tmpfs "*"size=3072k"* ]]
	run shoal run --rm --mount type=volume,source=bad1,target=/m,volume-opt=foo=bar $IMAGE true
	[ "$status" -ne 0 ]
	[[ "$output" == *'invalid option: "foo"'* ]]
	run shoal volume inspect bad1
	[ "$status" -eq 1 ]
}

@test "rm -v and run --rm remove anonymous volumes, never named ones" {
	shoal create --name c1 -v /anon -v named1:/named $IMAGE true >/dev/null
	anon=$(vol_names c1 | grep -v named1)
	[ "$(vol_names c1 | wc -l)" -eq 2 ]
	shoal rm -v c1 >/dev/null
	[ ! -e "$W/data/volumes/$anon" ]
	[ "$(shoal volume ls -q)" = named1 ]

	shoal create --name c2 -v /anon2 $IMAGE true >/dev/null
	anon2=$(vol_names c2)
	shoal rm c2 >/dev/null
	[ -d "$W/data/volumes/$anon2" ]
	shoal volume rm "$anon2" >/dev/null

	run shoal run --rm -v /anon3 -v named1:/named $IMAGE sh -c 'echo x > /anon3/f'
	[ "$status" -eq 0 ]
	[ "$(shoal volume ls -q)" = named1 ]
	[ "$(ls "$W/data/volumes")" = named1 ]
}

@test "bad mounts: 400 with Docker's words, no container and no volume made" {
	for spec in "-v bad/name:/x" "-v vol:relative" "-v vol:/" "-v vol:/x:bogus" "-v a:/x:ro:extra" \
		"-v v1:/same -v v2:/same" "--mount type=volume,source=..,target=/x" \
		"--volumes-from nosuchctr"; do
		# shellcheck disable=SC2086
		run shoal create $spec $IMAGE true
		[ "$status" -ne 0 ]
		[[ "$output" == *"Error response from daemon"* ]] || [[ "$output" == *"invalid"* ]]
	done
	run shoal create -v v1:/same -v v2:/same $IMAGE true
	[[ "$output" == *"Duplicate mount point: /same"* ]]
	run shoal create -v vol:/x:bogus $IMAGE true
	[[ "$output" == *"invalid mode: bogus"* ]]
	run shoal create --volumes-from nosuchctr $IMAGE true
	[[ "$output" == *"No such container: nosuchctr"* ]]
	run api POST /v1.41/containers/create \
		'{"Image":"shoal/busybox","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"volume","Source":"a/b","Target":"/x"}]}}'
	[ "${lines[-1]}" = "HTTP 400" ]
	[ -z "$(shoal ps -aq)" ]
	[ -z "$(shoal volume ls -q)" ]
	[ -z "$(ls -A "$W/data/volumes")" ]
}

@test "volumes and container mounts survive a daemon restart and a storage-driver switch" {
	shoal run -d --name keeper -v kv:/data -v /anon $IMAGE sleep 1000 >/dev/null
	shoal exec keeper sh -c 'echo durable > /data/d'
	mounts=$(shoal inspect -f '{{json .Mounts}}' keeper)
	vols=$(shoal volume inspect $(shoal volume ls -q))
	stop_shoald
	start_shoald
	[ "$(shoal inspect -f '{{json .Mounts}}' keeper)" = "$mounts" ]
	[ "$(shoal volume inspect $(shoal volume ls -q))" = "$vols" ]
	run shoal volume rm kv
	[ "$status" -eq 1 ]
	[[ "$output" == *"volume is in use"* ]]
	shoal rm -f keeper >/dev/null
	stop_shoald
	start_shoald --storage-driver vfs
	[ "$(shoal volume inspect $(shoal volume ls -q))" = "$vols" ]
	shoal load -i "$VOL_IMG" >/dev/null
	[ "$(shoal run --rm -v kv:/data $IMAGE cat /data/d)" = durable ]
}

@test "docker CLI against shoald: run -v, inspect Mounts, volume rm in use" {
	command -v docker >/dev/null || skip "docker CLI not installed"
	dkr() { DOCKER_CLI_HINTS=false DOCKER_HOST="unix://$W/shoal.sock" docker "$@"; }
	run dkr create --name dc -v dvol:/data -v /anon $IMAGE true
	[ "$status" -eq 0 ]
	[ "$(dkr inspect -f '{{json .Mounts}}' dc)" = "$(shoal inspect -f '{{json .Mounts}}' dc)" ]
	[ "$(dkr inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' dc)" = "/data /anon " ]
	run dkr volume rm dvol
	[ "$status" -eq 1 ]
	[[ "$output" == *"volume is in use"* ]]
	dkr rm -v dc
	[ "$(dkr volume ls -q)" = dvol ]
}
