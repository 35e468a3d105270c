#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers end to end (GitHub issue 6): the `shoal` CLI's container
# verbs against shoald, real namespaces, real overlayfs, real veths and
# BPF maps, the busybox test image of tools/mkimage.sh. Exit codes,
# streams, names, exec, ps/inspect output, networking on one host, across
# two hosts on an overlay and through a published port, a shoald killed
# with -9 under running containers, and leftovers after --rm, after 50
# create/rm cycles and after refused input.

bats_require_minimum_version 1.5.0
load helpers
load image_helpers
load container_helpers

setup_file() { ctr_file_setup; }

setup() {
	# the multi-host test makes its own hosts (tools/hosts.sh)
	[[ "$BATS_TEST_DESCRIPTION" == "multi-host"* ]] && return 0
	e2e_setup
	start_shoald
	shoal load -i "$CTR_IMG" >/dev/null
}

teardown() {
	if [[ "$BATS_TEST_DESCRIPTION" == "multi-host"* ]]; then
		mh_teardown
		return 0
	fi
	[ -n "${W:-}" ] && stop_shoald 9
	ctr_kill_all "${W:-}"
	e2e_teardown
}

IMAGE=shoal/busybox

# Note in the TAP output.
note() { echo "# $*" >&3; }

# One line that changes when a container leaves anything behind: layer
# dirs of the driver, mounts under $W (the bpffs aside), container netns
# bind mounts, host-side veths, endpoint map entries, state rows, the
# container dirs and the shims' bundles.
ctr_leftovers() {
	local mounts netns rows eps
	mounts=$(awk -v w="$W/" 'index($5, w) == 1' /proc/self/mountinfo | grep -vc '/bpffs ' || true)
	netns=$(find "$W/exec/netns" -mindepth 1 2>/dev/null | wc -l)
	rows=$(sqlite3 "$W/data/shoal.db" 'SELECT count(*) FROM containers' 2>/dev/null || echo 0)
	eps=$(sqlite3 "$W/data/shoal.db" 'SELECT count(*) FROM endpoints' 2>/dev/null || echo 0)
	echo "layers=$(layer_dirs) mounts=$mounts netns=$netns veths=$(host_veths | wc -l)" \
		"map=$(map_count endpoints 2>/dev/null || echo 0) rows=$rows endpoints=$eps" \
		"ctrdirs=$(find "$W/data/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" \
		"bundles=$(find "$W/exec/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
}

# wait_leftovers LINE: until ctr_leftovers prints LINE (5 s); shows both if not.
wait_leftovers() {
	local now
	for _ in $(seq 1 50); do
		now=$(ctr_leftovers)
		[ "$now" = "$1" ] && return 0
		sleep 0.1
	done
	echo "expected: $1" >&2
	echo "found:    $now" >&2
	return 1
}

# The test image with its config changed by a jq program, loaded as TAG.
load_image_cfg() {
	local tag=$1 prog=$2 d cfg hex
	d=$(mktemp -d "$W/imgcfg.XXXXXX")
	tar -xf "$CTR_IMG" -C "$d"
	cfg=$(jq -r '.[0].Config' "$d/manifest.json")
	jq -c "$prog" "$d/$cfg" >"$d/new.json"
	hex=$(sha256sum "$d/new.json" | cut -d' ' -f1)
	rm "$d/$cfg"
	mv "$d/new.json" "$d/$hex.json"
	jq -c --arg c "$hex.json" --arg t "$tag" '.[0].Config = $c | .[0].RepoTags = [$t]' \
		"$d/manifest.json" >"$d/m" && mv "$d/m" "$d/manifest.json"
	rm -f "$d/repositories"
	(cd "$d" && tar -cf "$W/cfg.tar" -- *)
	shoal load -i "$W/cfg.tar" >/dev/null
	rm -rf "$d" "$W/cfg.tar"
}

@test "run: exit codes 0 and 7, 125 unknown image, 127 missing command, 126 not executable; stdout and stderr apart" {
	run shoal run --rm "$IMAGE" true
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run shoal run --rm "$IMAGE" sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run --separate-stderr shoal run --rm "$IMAGE" sh -c 'echo to-out; echo to-err >&2'
	[ "$status" -eq 0 ]
	[ "$output" = to-out ]
	[ "$stderr" = to-err ]
	run shoal run --rm --pull never no/such-image true
	[ "$status" -eq 125 ]
	[[ "$output" == "shoal: Error response from daemon: "*"no/such-image"* ]]
	[[ "$output" == *"See 'shoal run --help'."* ]]
	# the default pulls first: no registry reachable from here, still 125
	run shoal run --rm no/such-image true
	[ "$status" -eq 125 ]
	[[ "$output" == "Unable to find image 'no/such-image:latest' locally"* ]]
	run -127 shoal run --rm "$IMAGE" /no/such/cmd
	[[ "$output" == "shoal: Error response from daemon: "* ]]
	run -127 shoal run --rm "$IMAGE" nosuchcmd
	[[ "$output" == *'"nosuchcmd": executable file not found'* ]]
	run -126 shoal run --rm "$IMAGE" /etc/passwd
	[[ "$output" == "shoal: Error response from daemon: "* ]]
	# stdin with -i, EOF passed on
	run bash -c "printf 'line1\nline2\n' | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' run --rm -i $IMAGE sh -c 'wc -l; exit 3'"
	[ "$status" -eq 3 ]
	[ "$(echo "$output" | tr -d ' ')" = 2 ]
	# a tty: the output is the terminal's, the code still the container's
	# (shoald relays a tty's output from the shim's attach, made after the
	# start: what the first instant prints may miss it, hence the sleep)
	run script -qec "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' run --rm -t $IMAGE sh -c 'sleep 0.3; tty; exit 4'" /dev/null
	[ "$status" -eq 4 ]
	[[ "$output" == */dev/pts/* ]]
}

@test "run -d prints the id; logs (--tail, -t, -f), stop, ps and inspect follow the container" {
	run shoal run -d --name ticker "$IMAGE" sh -c 'echo start; echo oops >&2; i=0; while true; do echo tick $i; i=$((i + 1)); sleep 0.2; done'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	id=$output
	wait_for bash -c "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' logs ticker 2>/dev/null | grep -q 'tick 2'"
	run --separate-stderr shoal logs ticker
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = start ]
	[ "${lines[1]}" = "tick 0" ]
	[ "$stderr" = oops ]
	run shoal logs --tail 1 -t ticker
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ tick\ [0-9]+$ ]]
	# -f follows until the container stops
	timeout 20 "$SHOAL_BIN" -H "unix://$W/shoal.sock" logs -f ticker >"$W/follow.log" 2>&1 &
	fpid=$!
	echo "$fpid" >>"$W/pids"
	run shoal inspect -f '{{.State.Status}} {{.State.Running}} {{.Id}}' ticker
	[ "$output" = "running true $id" ]
	run shoal ps --format '{{.ID}} {{.Names}} {{.State}} {{.Status}}'
	[[ "$output" =~ ^${id:0:12}\ ticker\ running\ Up\ .*(second|minute) ]]
	run shoal stop -t 1 ticker
	[ "$status" -eq 0 ]
	[ "$output" = ticker ]
	# the follower ends with the container, with everything it printed
	wait "$fpid"
	last=$(shoal logs ticker 2>/dev/null | tail -n 1)
	[ "$(tail -n 1 "$W/follow.log")" = "$last" ]
	run shoal inspect -f '{{.State.Status}} {{.State.Running}}' ticker
	[ "$output" = "exited false" ]
	run shoal ps -q
	[ -z "$output" ]
	run shoal ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" =~ ^ticker\ Exited\ \([0-9]+\)\ .*ago$ ]]
	run shoal wait ticker
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9]+$ ]]
	# killed by a signal: 128 + the signal, as docker
	shoal run -d --name victim "$IMAGE" sleep 300
	shoal kill -s KILL victim
	run shoal wait victim
	[ "$output" = 137 ]
	run shoal inspect -f '{{.State.ExitCode}}' victim
	[ "$output" = 137 ]
	shoal rm victim
	# the stopped container's logs are still there, and start brings it back
	run shoal start ticker
	[ "$output" = ticker ]
	run shoal inspect -f '{{.State.Status}}' ticker
	[ "$output" = running ]
	run shoal restart -t 1 ticker
	[ "$status" -eq 0 ]
	run shoal rm ticker
	[ "$status" -ne 0 ]
	[[ "$output" == "Error response from daemon: "* ]]
	run shoal rm -f ticker
	[ "$status" -eq 0 ]
	[ "$output" = ticker ]
	run shoal ps -aq
	[ -z "$output" ]
}

@test "--rm leaves nothing behind: layer dirs, mounts, netns, veths, map entries, rows" {
	# the default network exists once a container used it
	shoal run --rm "$IMAGE" true
	before=$(ctr_leftovers)
	note "before: $before"
	run shoal run --rm "$IMAGE" sh -c 'echo hi > /tmp/x; cat /tmp/x'
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	wait_leftovers "$before"
	# detached, stopped from outside: removed once it exits
	id=$(shoal run -d --rm "$IMAGE" sleep 60)
	[ "$(ctr_leftovers)" != "$before" ]
	shoal stop -t 1 "$id"
	wait_for bash -c "! '$SHOAL_BIN' -H 'unix://$W/shoal.sock' inspect --type container $id >/dev/null 2>&1"
	wait_leftovers "$before"
	run shoal ps -aq
	[ -z "$output" ]
	# a failed start with --rm is removed too
	run -127 shoal run --rm "$IMAGE" /no/such/cmd
	wait_for bash -c "[ -z \"\$('$SHOAL_BIN' -H 'unix://$W/shoal.sock' ps -aq)\" ]"
	wait_leftovers "$before"
}

@test "run pulls a missing image (--pull missing, the default), --pull never refuses, --pull always pulls again" {
	registry_start
	registry_push "$CTR_IMG" shoal/busybox:latest
	ref=127.0.0.1:$REGISTRY_PORT/shoal/busybox
	run -125 --separate-stderr shoal run --rm --pull never "$ref" true
	[[ "$stderr" == *"No such image: $ref"* ]]
	run --separate-stderr shoal run --rm "$ref" echo pulled
	[ "$status" -eq 0 ]
	[ "$output" = pulled ]
	[[ "$stderr" == "Unable to find image '$ref:latest' locally"* ]]
	[ "$(shoal images --format '{{.Repository}}:{{.Tag}}' "$ref")" = "$ref:latest" ]
	# present now: no pull
	run --separate-stderr shoal run --rm "$ref" echo again
	[ "$output" = again ]
	[ -z "$stderr" ]
	run --separate-stderr shoal run --rm --pull always "$ref" echo always
	[ "$output" = always ]
	[[ "$stderr" == *"Pulling from shoal/busybox"* ]]
	# a failed pull: the create is not retried, nothing is made
	run -125 shoal run --rm "127.0.0.1:$REGISTRY_PORT/no/such" true
	[[ "$output" == *"Unable to find image '127.0.0.1:$REGISTRY_PORT/no/such:latest' locally"* ]]
	run shoal ps -aq
	[ -z "$output" ]
	run -125 shoal run --pull sometimes "$IMAGE" true
	[[ "$output" == *"invalid pull option: 'sometimes'"* ]]
}

@test "names and id prefixes resolve; rename; a duplicate name is refused" {
	id=$(shoal run -d --name web "$IMAGE" sleep 60)
	for ref in web "$id" "${id:0:12}" "${id:0:5}"; do
		run shoal inspect -f '{{.Name}} {{.Id}}' "$ref"
		[ "$status" -eq 0 ]
		[ "$output" = "/web $id" ]
	done
	run shoal create --name web "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Conflict"*"web"* ]]
	[ "$(shoal ps -aq | wc -l)" -eq 1 ]
	run shoal rename web web2
	[ "$status" -eq 0 ]
	run shoal inspect -f '{{.Name}}' "${id:0:12}"
	[ "$output" = /web2 ]
	run shoal inspect web
	[ "$status" -eq 1 ]
	[[ "$output" == *"Error: No such object: web"* ]]
	# the old name is free again
	id2=$(shoal create --name web "$IMAGE" true)
	[ "$id2" != "$id" ]
	run shoal ps -a --filter name=web2 --format '{{.Names}}'
	[ "$output" = web2 ]
	run shoal rm -f web web2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = web ]
	[ "${lines[1]}" = web2 ]
	run shoal rm nosuchcontainer
	[ "$status" -eq 1 ]
	[[ "$output" == "Error response from daemon: "*"nosuchcontainer"* ]]
}

@test "exec: output, exit code, -e, -w, -u, -i stdin, -t, -d; top and port" {
	shoal run -d --name box -e FROMRUN=1 -p 8081:81 "$IMAGE" sleep 300
	run shoal exec box sh -c 'echo $FROMRUN $EXTRA; pwd; id -u'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1\n/\n0')" ]
	run shoal exec -e EXTRA=2 -w /data -u 1000:1000 box sh -c 'echo $FROMRUN $EXTRA; pwd; id -u; id -g'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1 2\n/data\n1000\n1000')" ]
	run shoal exec box sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run --separate-stderr shoal exec box sh -c 'echo a; echo b >&2'
	[ "$output" = a ]
	[ "$stderr" = b ]
	run bash -c "echo piped | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' exec -i box cat"
	[ "$output" = piped ]
	run -127 shoal exec box /no/such/cmd
	run script -qec "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' exec -t box tty" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == */dev/pts/* ]]
	run shoal exec -d box sh -c 'echo detached > /tmp/d'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for bash -c "[ \"\$('$SHOAL_BIN' -H 'unix://$W/shoal.sock' exec box cat /tmp/d 2>/dev/null)\" = detached ]"
	run shoal exec nosuch true
	[ "$status" -eq 1 ]
	[[ "$output" == "Error response from daemon: "*nosuch* ]]
	run shoal top box
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[[ "$output" == *"sleep 300"* ]]
	run shoal port box
	[ "$output" = "81/tcp -> 0.0.0.0:8081" ]
	run shoal port box 81/tcp
	[ "$output" = "0.0.0.0:8081" ]
	run shoal port box 82
	[ "$status" -eq 1 ]
	[ "$output" = "Error: No public port '82/tcp' published for box" ]
}

@test "env, workdir, entrypoint and cmd come from the image; flags override them" {
	load_image_cfg cfg/img:1 '.config.Env += ["IMGVAR=fromimage"] | .config.WorkingDir = "/data" |
		.config.Entrypoint = ["/bin/sh", "-c"] | .config.Cmd = ["echo $IMGVAR $(pwd)"]'
	run shoal run --rm cfg/img:1
	[ "$status" -eq 0 ]
	[ "$output" = "fromimage /data" ]
	# CMD replaced, ENTRYPOINT kept
	run shoal run --rm cfg/img:1 'echo other $IMGVAR'
	[ "$output" = "other fromimage" ]
	run shoal run --rm -e IMGVAR=flag -w /tmp cfg/img:1
	[ "$output" = "flag /tmp" ]
	run shoal run --rm --entrypoint /bin/echo cfg/img:1 plain args
	[ "$output" = "plain args" ]
	printf 'A=1\n# comment\n\nB=two words\n' >"$W/env"
	run shoal run --rm --env-file "$W/env" -e C=3 "$IMAGE" sh -c 'echo "$A|$B|$C"'
	[ "$output" = "1|two words|3" ]
	run shoal run --rm -h myhost "$IMAGE" hostname
	[ "$output" = myhost ]
	run shoal create --name cfgd -e X=1 -l role=db cfg/img:1
	[ "$status" -eq 0 ]
	run shoal inspect -f '{{json .Config.Env}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}} {{json .Config.Labels}}' cfgd
	# image env first, then the flags' (docker's order)
	# Docker's merge (daemon/commit.go merge()): the container's variables
	# first, then the image's it does not set
	[[ "$output" == '["X=1","PATH='*'"IMGVAR=fromimage"] /data ["/bin/sh","-c"] {"role":"db"}' ]]
}

@test "ps: running only by default, -a, -q, -n/-l, --filter, --format, --no-trunc, table" {
	a=$(shoal run -d --name alpha -l tier=web "$IMAGE" sleep 300)
	shoal run --name beta "$IMAGE" sh -c 'exit 3' || true
	c=$(shoal run -d --name gamma -l tier=db "$IMAGE" sleep 300)
	run shoal ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +IMAGE\ +COMMAND\ +CREATED\ +STATUS\ +PORTS\ +NAMES$ ]]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" =~ ^${c:0:12}\ +shoal/busybox\ +\"sleep\ 300\"\ +.*\ ago\ +Up\ .*\ gamma$ ]]
	[[ "${lines[2]}" == *" alpha" ]]
	run shoal ps -a --format '{{.Names}}'
	[ "$output" = "$(printf 'gamma\nbeta\nalpha')" ]
	run shoal ps -q --no-trunc
	[ "$output" = "$(printf '%s\n%s' "$c" "$a")" ]
	run shoal ps -q
	[ "$output" = "$(printf '%s\n%s' "${c:0:12}" "${a:0:12}")" ]
	run shoal ps -n 2 --format '{{.Names}}'
	[ "$output" = "$(printf 'gamma\nbeta')" ]
	run shoal ps -l --format '{{.Names}}'
	[ "$output" = gamma ]
	run shoal ps -a --filter status=exited --format '{{.Names}} {{.Status}}'
	[[ "$output" =~ ^beta\ Exited\ \(3\)\ .*ago$ ]]
	run shoal ps --filter label=tier=db --format '{{.Names}} {{.Labels}}'
	[ "$output" = "gamma tier=db" ]
	run shoal ps --filter name=alp -q
	[ "$output" = "${a:0:12}" ]
	run shoal ps -a --filter id="${a:0:8}" --format '{{.Names}}'
	[ "$output" = alpha ]
	run shoal ps --format 'table {{.Names}}\t{{.Image}}'
	[[ "${lines[0]}" =~ ^NAMES\ +IMAGE$ ]]
	[[ "${lines[1]}" =~ ^gamma\ +shoal/busybox$ ]]
	run shoal ps --filter name=gamma --format '{{json .}}'
	[ "$(echo "$output" | jq -r '.Names + " " + .State + " " + .Command + " " + .Networks')" = 'gamma running "sleep 300" shoal0' ]
	run shoal ps --filter name=gamma --format '{{.Command}}' --no-trunc
	[ "$output" = '"sleep 300"' ]
	run shoal ps --format '{{.Nope'
	[ "$status" -ne 0 ]
	[[ "$output" == "template parsing error: "* ]]
	run shoal ps --filter bogus
	[ "$status" -ne 0 ]
}

@test "inspect: State.Status, NetworkSettings.IPAddress, Config.Env; falls through to images, networks and volumes" {
	id=$(shoal run -d --name insp -e K1=v1 "$IMAGE" sleep 300)
	run shoal inspect insp
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].Id')" = "$id" ]
	[ "$(echo "$output" | jq -r '.[0].State.Status')" = running ]
	[ "$(echo "$output" | jq -r '.[0].State.Pid')" -gt 1 ]
	[ "$(echo "$output" | jq -r '.[0].Config.Env | index("K1=v1") != null')" = true ]
	[ "$(echo "$output" | jq -r '.[0].Config.Image')" = "$IMAGE" ]
	ip=$(echo "$output" | jq -r '.[0].NetworkSettings.IPAddress')
	[[ "$ip" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]
	# the address is the one eth0 has inside the container
	run shoal exec insp ip -4 -o addr show dev eth0
	[[ "$output" == *"inet $ip/"* ]]
	run shoal inspect -f '{{.State.Status}} {{.NetworkSettings.IPAddress}}' insp
	[ "$output" = "running $ip" ]
	run shoal container inspect -f '{{.Name}}' insp
	[ "$output" = /insp ]
	# not a container: an image, then a network
	run shoal inspect -f '{{.RepoTags}}' "$IMAGE"
	[ "$status" -eq 0 ]
	[[ "$output" == *"shoal/busybox:latest"* ]]
	shoal network create --subnet 10.91.0.0/24 inspnet >/dev/null
	run shoal inspect -f '{{.Name}} {{.Driver}}' inspnet
	[ "$output" = "inspnet local" ]
	shoal volume create inspvol >/dev/null
	run shoal inspect -f '{{.Name}} {{.Driver}}' inspvol
	[ "$output" = "inspvol local" ]
	run shoal inspect --type volume -f '{{.Mountpoint}}' inspvol
	[ "$output" = "$W/data/volumes/inspvol/_data" ]
	run shoal inspect --type container "$IMAGE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Error: No such container: $IMAGE"* ]]
	run shoal inspect nothing-at-all
	[ "$status" -eq 1 ]
	[[ "$output" == *"Error: No such object: nothing-at-all"* ]]
}

@test "two containers on one network reach each other by IP" {
	shoal network create --subnet 10.89.0.0/24 appnet >/dev/null
	shoal run -d --name srv --network appnet --ip 10.89.0.10 "$IMAGE" sleep 300
	run shoal inspect -f '{{json .NetworkSettings.Networks}}' srv
	[ "$(echo "$output" | jq -r '.appnet.IPAddress')" = 10.89.0.10 ]
	run shoal run --rm --network appnet "$IMAGE" ping -c 2 -W 2 10.89.0.10
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 packets received"* ]]
	# and a TCP exchange, server in one container, client in another
	shoal exec -d srv sh -c 'echo from-srv | nc -l -p 7000'
	sleep 0.3
	# busybox nc leaves at its first EOF: stdin stays open until the
	# server's line and close have come in
	run shoal run --rm --network appnet "$IMAGE" sh -c 'sleep 3 | nc 10.89.0.10 7000'
	[ "$output" = from-srv ]
	# the network lists the container
	run shoal network inspect appnet
	[ "$(echo "$output" | jq -r '.[0].Containers | to_entries[] | select(.value.Name == "srv") | .value.IPv4Address')" = 10.89.0.10/24 ]
}

@test "-p: a published port is reachable from another namespace through the host's interface" {
	# a client namespace on a veth to the shoal host's namespace: an
	# external interface, so shoald must see it at start
	stop_shoald
	netns_add "$P-cl"
	ip link add "${P}x0" netns "$HOSTNS" type veth peer name eth0 netns "$P-cl"
	ip -n "$HOSTNS" addr add 10.77.0.1/24 dev "${P}x0"
	ip -n "$HOSTNS" link set "${P}x0" up
	ip -n "$P-cl" addr add 10.77.0.2/24 dev eth0
	ip -n "$P-cl" link set eth0 up
	start_shoald
	shoal run -d --name webp -p 8080:80 "$IMAGE" sh -c 'mkdir -p /www && echo hello-from-container > /www/index.html && exec httpd -f -p 80 -h /www'
	run shoal port webp 80
	[ "$output" = "0.0.0.0:8080" ]
	wait_for bash -c "ip netns exec '$P-cl' curl -s -m 2 http://10.77.0.1:8080/ | grep -q hello-from-container"
	run ip netns exec "$P-cl" curl -s -m 2 http://10.77.0.1:8080/index.html
	[ "$output" = hello-from-container ]
	# after stop, nothing answers on the port
	shoal stop -t 1 webp
	run ip netns exec "$P-cl" curl -s -m 1 http://10.77.0.1:8080/
	[ "$status" -ne 0 ]
}

@test "kill -9 of shoald with 3 containers running: they keep running; after restart ps, logs, exec and stop work" {
	for n in k1 k2 k3; do
		shoal run -d --name $n "$IMAGE" sh -c "while true; do echo alive-$n; sleep 0.2; done"
	done
	pids=$(for n in k1 k2 k3; do shoal inspect -f '{{.State.Pid}}' $n; done)
	stop_shoald 9
	for pid in $pids; do kill -0 "$pid"; done
	sleep 0.5
	for pid in $pids; do kill -0 "$pid"; done
	start_shoald
	run shoal ps --format '{{.Names}} {{.State}}'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'k3 running\nk2 running\nk1 running')" ]
	for n in k1 k2 k3; do
		[ "$(shoal inspect -f '{{.State.Pid}}' $n)" -gt 1 ]
	done
	[ "$(for n in k1 k2 k3; do shoal inspect -f '{{.State.Pid}}' $n; done)" = "$pids" ]
	# output produced while shoald was away is in the logs
	run shoal logs --tail 2 k2
	[ "${lines[1]}" = alive-k2 ]
	run shoal exec k1 echo still-here
	[ "$output" = still-here ]
	run shoal stop -t 1 k1 k2 k3
	[ "$status" -eq 0 ]
	run shoal ps -a --format '{{.Names}} {{.State}}'
	[ "$output" = "$(printf 'k3 exited\nk2 exited\nk1 exited')" ]
	for pid in $pids; do ! kill -0 "$pid" 2>/dev/null || false; done
}

@test "50 create/start/rm cycles leave no mount, veth, netns, map entry or row behind" {
	shoal run --rm "$IMAGE" true
	before=$(ctr_leftovers)
	note "before: $before"
	t0=$(date +%s%N)
	for i in $(seq 1 50); do
		shoal create --name "cyc$i" "$IMAGE" sleep 60 >/dev/null
		if [ $((i % 2)) -eq 0 ]; then
			shoal start "cyc$i" >/dev/null
		fi
		shoal rm -f "cyc$i" >/dev/null
	done
	t1=$(date +%s%N)
	note "50 cycles in $(((t1 - t0) / 1000000)) ms"
	run shoal ps -aq
	[ -z "$output" ]
	wait_leftovers "$before"
}

@test "bad input: unknown image, duplicate name, bad name, bad port spec, bad env, bad mount: clear error, nothing created" {
	shoal run --rm "$IMAGE" true
	shoal create --name taken "$IMAGE" true >/dev/null
	before=$(ctr_leftovers)
	run shoal run --rm no/such:img true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no/such:img"* ]]
	run shoal run --rm --name taken "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Conflict"*"taken"* ]]
	run shoal run --rm --name 'bad name!' "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Invalid container name"* ]]
	run shoal run --rm -p 80:abc "$IMAGE" true
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "shoal: invalid containerPort: abc." ]
	run shoal run --rm -p 99999:80 "$IMAGE" true
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "shoal: invalid hostPort: 99999." ]
	run shoal run --rm -p 80/sctpx "$IMAGE" true
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "shoal: invalid proto: sctpx." ]
	run shoal run --rm -e =nokey "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "${lines[0]}" == *"invalid environment variable: =nokey" ]]
	run shoal create --mount type=bind,target=/x "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"source is required when specifying bind mounts"* ]]
	run shoal run --rm --restart always "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Conflicting options: --restart and --rm"* ]]
	run shoal run --rm --network no-such-net "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no-such-net"* ]]
	run shoal run
	[ "$status" -eq 125 ]
	[[ "$output" == *'"shoal run" requires at least 1 argument.'* ]]
	run shoal run --bogus "$IMAGE"
	[ "$status" -eq 125 ]
	[[ "$output" == "unknown flag: --bogus"* ]]
	[ "$(ctr_leftovers)" = "$before" ]
	run shoal ps -a --format '{{.Names}}'
	[ "$output" = taken ]
}

# ---- two hosts (tools/hosts.sh) ----------------------------------------------

mh_teardown() {
	[ -n "${W:-}" ] || return 0
	local k
	for k in 1 2; do
		"$HOSTS" kill --workdir "$HW" "$k" KILL 3>&- >/dev/null 2>&1 || true
	done
	ctr_kill_all "${HW:-/nonexistent}"
	hosts_teardown
}

@test "multi-host: containers on an overlay on two hosts ping each other" {
	load hosts_helpers
	hosts_setup 2
	for k in 1 2; do
		hs $k load -i "$CTR_IMG" >/dev/null
		ovl_create $k
	done
	hs 1 run -d --name ca --network ov --ip 10.0.9.2 "$IMAGE" sleep 300
	hs 2 run -d --name cb --network ov --ip 10.0.9.3 "$IMAGE" sleep 300
	mac_a=$(hs 1 inspect -f '{{json .NetworkSettings.Networks}}' ca | jq -r .ov.MacAddress)
	mac_b=$(hs 2 inspect -f '{{json .NetworkSettings.Networks}}' cb | jq -r .ov.MacAddress)
	[[ "$mac_a" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]]
	# peers programmed by hand, both ways (swarm mode would gossip them)
	peer_add 1 ov 10.0.9.3 "$mac_b" "$UNDERLAY_IP_2" >/dev/null
	peer_add 2 ov 10.0.9.2 "$mac_a" "$UNDERLAY_IP_1" >/dev/null
	run hs 1 exec ca ping -c 3 -i 0.2 -W 2 10.0.9.3
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 packets received"* ]]
	run hs 2 exec cb ping -c 3 -i 0.2 -W 2 10.0.9.2
	[ "$status" -eq 0 ]
	# one local and one remote entry on each host
	[ "$(map_count 1 endpoints)" -eq 2 ]
	[ "$(map_count 2 endpoints)" -eq 2 ]
	hs 1 rm -f ca
	hs 2 rm -f cb
}
