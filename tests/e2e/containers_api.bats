#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers through the Docker Engine API (curl on the socket) and the
# real docker CLI: create / inspect / ps / rename / rm, references and
# names, bad input leaving nothing behind, rmi of an image in use; then
# running containers (start, exit codes, logs, stop, kill, wait, exec,
# top, stats, networking, --rm) and shoald restarts with containers
# running (they keep running and keep their network).

bats_require_minimum_version 1.5.0
load helpers
load container_helpers

setup() {
	e2e_setup
	start_shoald
	load_test_image
}

teardown() {
	# on failure, what shoald said last
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "${W:-/nonexistent}/shoald.log" ]; then
		tail -n 30 "$W/shoald.log" | sed 's/^/# shoald: /' >&3
	fi
	e2e_teardown
}

# ---- without running anything ---------------------------------------------

@test "create + inspect: Docker's shapes, the image config merged, files made" {
	id=$(ctr_create web '{"Image": "shoal/busybox", "Cmd": ["sleep", "30"], "Env": ["A=1", "PATH=/bin"], "Labels": {"k": "v"}, "ExposedPorts": {"80/tcp": {}}}')
	[[ $id =~ ^[0-9a-f]{64}$ ]]
	run api GET "/containers/$id/json"
	[ "${lines[-1]}" = "HTTP 200" ]
	j=$(head -n -1 <<<"$output")
	[ "$(jq -r .Name <<<"$j")" = /web ]
	[ "$(jq -r .Id <<<"$j")" = "$id" ]
	[ "$(jq -r .State.Status <<<"$j")" = created ]
	[ "$(jq -r .State.Running <<<"$j")" = false ]
	[ "$(jq -r .Path <<<"$j")" = sleep ]
	[ "$(jq -c .Args <<<"$j")" = '["30"]' ]
	[ "$(jq -r .Config.Hostname <<<"$j")" = "${id:0:12}" ]
	# Env as Docker merges it: ours first, the image's PATH replaced by ours
	[ "$(jq -c .Config.Env <<<"$j")" = '["A=1","PATH=/bin"]' ]
	id0=$(ctr_create envs '{"Image": "shoal/busybox", "Env": ["B=2", "A=1"]}')
	[ "$(ctr_field "$id0" '.Config.Env | tojson')" = '["B=2","A=1","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' ]
	[ "$(jq -r .Config.Labels.k <<<"$j")" = v ]
	[ "$(jq -r '.Config.ExposedPorts | keys[0]' <<<"$j")" = 80/tcp ]
	[ "$(jq -r .Image <<<"$j")" = "$(shoal image inspect -f '{{.Id}}' shoal/busybox)" ]
	[ "$(jq -r .Driver <<<"$j")" = "$(driver)" ]
	[ "$(jq -r .HostConfig.NetworkMode <<<"$j")" = default ]
	[ "$(jq -r '.NetworkSettings.Networks | keys[0]' <<<"$j")" = shoal0 ]
	[ "$(jq -r .Mounts <<<"$j")" = "[]" ]
	[ -f "$W/data/containers/$id/hostname" ]
	[ "$(cat "$W/data/containers/$id/hostname")" = "${id:0:12}" ]
	grep -q localhost "$W/data/containers/$id/hosts"
	grep -q nameserver "$W/data/containers/$id/resolv.conf"
	# the default network exists now (made on first use)
	[ "$(shoal network inspect shoal0 | jq -r '.[0].Name')" = shoal0 ]
	# image defaults: no Cmd given = the image's ["sh"]
	id2=$(ctr_create dflt '{"Image": "shoal/busybox"}')
	[ "$(ctr_field "$id2" .Path)" = sh ]
	[ "$(ctr_field "$id2" '.Config.Env[0]')" = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]
	# Entrypoint given: the image's Cmd is dropped
	id3=$(ctr_create ep '{"Image": "shoal/busybox", "Entrypoint": ["echo"]}')
	[ "$(ctr_field "$id3" .Path)" = echo ]
	[ "$(ctr_field "$id3" '.Args | length')" = 0 ]
}

@test "ps: all, filters, limit; names generated like Docker's" {
	a=$(ctr_create one '{"Image": "shoal/busybox", "Labels": {"tier": "db"}}')
	b=$(ctr_create "" '{"Image": "shoal/busybox"}')
	run api GET /containers/json
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 0 ]    # none running
	run api GET '/containers/json?all=1'
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 2 ]
	j=$(head -n -1 <<<"$output")
	# newest first; generated name adjective_surname
	[ "$(jq -r '.[0].Id' <<<"$j")" = "$b" ]
	[[ $(jq -r '.[0].Names[0]' <<<"$j") =~ ^/[a-z]+_[a-z]+[0-9]?$ ]]
	[ "$(jq -r '.[1].Names[0]' <<<"$j")" = /one ]
	[ "$(jq -r '.[1].State' <<<"$j")" = created ]
	[ "$(jq -r '.[1].Status' <<<"$j")" = Created ]
	[ "$(jq -r '.[1].Command' <<<"$j")" = sh ]
	[ "$(jq -r '.[1].Image' <<<"$j")" = shoal/busybox ]
	f=$(jq -rn '{label: ["tier=db"]} | @uri')
	run api GET "/containers/json?all=1&filters=$f"
	[ "$(head -n -1 <<<"$output" | jq -r '.[].Id')" = "$a" ]
	f=$(jq -rn --arg i "${b:0:8}" '{id: [$i]} | @uri')
	run api GET "/containers/json?all=1&filters=$f"
	[ "$(head -n -1 <<<"$output" | jq -r '.[].Id')" = "$b" ]
	f=$(jq -rn '{name: ["one"]} | @uri')
	run api GET "/containers/json?all=1&filters=$f"
	[ "$(head -n -1 <<<"$output" | jq -r '.[].Id')" = "$a" ]
	f=$(jq -rn '{status: ["created"], ancestor: ["shoal/busybox"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 2 ]
	f=$(jq -rn '{status: ["running"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 0 ]
	run api GET '/containers/json?limit=1'
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 1 ]
	f=$(jq -rn '{before: ["one"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 0 ]
	f=$(jq -rn '{since: ["one"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "$(head -n -1 <<<"$output" | jq -r '.[].Id')" = "$b" ]
	f=$(jq -rn '{before: ["nosuch"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "${lines[-1]}" = "HTTP 404" ]
	f=$(jq -rn '{bogus: ["x"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "${lines[-1]}" = "HTTP 400" ]
	f=$(jq -rn '{status: ["sleeping"]} | @uri')
	run api GET "/containers/json?filters=$f"
	[ "${lines[-1]}" = "HTTP 400" ]
}

@test "references: full id, name, unique prefix; ambiguous and unknown" {
	ids=()
	for i in $(seq 1 12); do
		ids+=("$(ctr_create "c$i" '{"Image": "shoal/busybox"}')")
	done
	id=${ids[0]}
	[ "$(ctr_field "$id" .Name)" = /c1 ]
	[ "$(ctr_field c1 .Id)" = "$id" ]
	# the shortest prefix of ids[0] that no other id shares
	for n in $(seq 1 64); do
		p=${id:0:$n}
		others=$(printf '%s\n' "${ids[@]:1}" | grep -c "^$p" || true)
		[ "$others" -eq 0 ] && break
	done
	[ "$(ctr_field "$p" .Id)" = "$id" ]
	# a one-hex-digit prefix shared by two of the 12 ids is ambiguous
	amb=""
	for h in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
		[ "$(printf '%s\n' "${ids[@]}" | grep -c "^$h")" -ge 2 ] && amb=$h && break
	done
	if [ -n "$amb" ]; then
		run api GET "/containers/$amb/json"
		[ "${lines[-1]}" = "HTTP 400" ]
		[[ $output == *"Multiple IDs found with provided prefix: $amb"* ]]
	fi
	run api GET /containers/nosuch/json
	[ "${lines[-1]}" = "HTTP 404" ]
	[[ $output == *"No such container: nosuch"* ]]
	run api DELETE /containers/nosuch
	[ "${lines[-1]}" = "HTTP 404" ]
}

@test "names: taken, bad grammar, rename" {
	id=$(ctr_create taken '{"Image": "shoal/busybox"}')
	run api POST '/containers/create?name=taken' '{"Image": "shoal/busybox"}'
	[ "${lines[-1]}" = "HTTP 409" ]
	[[ $output == *"Conflict. The container name \\\"/taken\\\" is already in use by container \\\"$id\\\""* ]]
	for bad in 'a' '-x' 'a%2Fb' 'a%20b' '_x'; do
		run api POST "/containers/create?name=$bad" '{"Image": "shoal/busybox"}'
		[ "${lines[-1]}" = "HTTP 400" ]
		[[ $output == *"Invalid container name"* ]]
	done
	run api POST "/containers/$id/rename?name=other"
	[ "${lines[-1]}" = "HTTP 204" ]
	[ "$(ctr_field other .Id)" = "$id" ]
	run api GET /containers/taken/json
	[ "${lines[-1]}" = "HTTP 404" ]
	id2=$(ctr_create taken '{"Image": "shoal/busybox"}')
	run api POST "/containers/$id2/rename?name=other"
	[ "${lines[-1]}" = "HTTP 409" ]
	run api POST "/containers/$id2/rename?name=b%2Fad"
	[ "${lines[-1]}" = "HTTP 400" ]
}

@test "bad input: 4xx naming the problem, nothing created" {
	layers0=$(layer_dirs)
	before=$(leftovers)
	check() { # CODE WORDS BODY [NAME]
		run api POST "/containers/create?name=${4:-bad}" "$3"
		[ "${lines[-1]}" = "HTTP $1" ] || { echo "$3 -> $output"; return 1; }
		[[ $output == *"$2"* ]] || { echo "$3 -> $output"; return 1; }
	}
	check 404 "No such image: nosuch:latest" '{"Image": "nosuch:latest"}'
	check 400 "invalid environment variable: =x" '{"Image": "shoal/busybox", "Env": ["=x"]}'
	check 400 "invalid port specification" '{"Image": "shoal/busybox", "HostConfig": {"PortBindings": {"abc/tcp": [{"HostPort": "80"}]}}}'
	check 400 "invalid port specification" '{"Image": "shoal/busybox", "ExposedPorts": {"99999/tcp": {}}}'
	check 400 "invalid proto" '{"Image": "shoal/busybox", "ExposedPorts": {"80/xyz": {}}}'
	check 400 "invalid hostPort" '{"Image": "shoal/busybox", "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "http"}]}}}'
	check 400 "network nosuchnet not found" '{"Image": "shoal/busybox", "HostConfig": {"NetworkMode": "nosuchnet"}}'
	check 400 "invalid IPv4 address" '{"Image": "shoal/busybox", "NetworkingConfig": {"EndpointsConfig": {"shoal0": {"IPAMConfig": {"IPv4Address": "10.1.2"}}}}}'
	check 400 "Invalid container name" '{"Image": "shoal/busybox"}' '-bad'
	check 400 "Config.Image is required" '{"Cmd": ["sh"]}'
	check 400 "invalid restart policy 'sometimes'" '{"Image": "shoal/busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}'
	check 400 "maximum retry count cannot be used with restart policy 'always'" '{"Image": "shoal/busybox", "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}}'
	check 400 "conflicting options: AutoRemove and restart policy" '{"Image": "shoal/busybox", "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}}'
	check 400 "includes invalid characters for a local volume name" '{"Image": "shoal/busybox", "HostConfig": {"Binds": ["bad/vol:/data"]}}'
	check 400 "Duplicate mount point: /data" '{"Image": "shoal/busybox", "HostConfig": {"Binds": ["v1:/data", "/tmp:/data"]}}'
	check 400 "Entrypoint must be" '{"Image": "shoal/busybox", "Entrypoint": 7}'
	run api POST /containers/create '{"Image": '
	[ "${lines[-1]}" = "HTTP 400" ]
	[ "$(leftovers)" = "$before" ]
	[ "$(layer_dirs)" -eq "$layers0" ]
	run api GET '/containers/json?all=1'
	[ "$(head -n -1 <<<"$output" | jq length)" -eq 0 ]
}

@test "rm removes row, layer and files; rmi of an image in use is refused" {
	layers0=$(layer_dirs)
	id=$(ctr_create gone '{"Image": "shoal/busybox"}')
	[ "$(layer_dirs)" -eq $((layers0 + 1)) ]
	run shoal rmi shoal/busybox
	[ "$status" -ne 0 ]
	[[ $output == *"conflict: unable to remove repository reference"* ]]
	run api DELETE "/containers/$id"
	[ "${lines[-1]}" = "HTTP 204" ]
	[ "$(layer_dirs)" -eq "$layers0" ]
	[ ! -e "$W/data/containers/$id" ]
	[ "$(sqlite3 "$W/data/shoal.db" 'SELECT count(*) FROM containers')" -eq 0 ]
	run api GET "/containers/$id/json"
	[ "${lines[-1]}" = "HTTP 404" ]
	run shoal rmi shoal/busybox
	[ "$status" -eq 0 ]
}

@test "state survives a shoald restart (created containers)" {
	id=$(ctr_create keep '{"Image": "shoal/busybox", "Cmd": ["true"]}')
	stop_shoald
	start_shoald
	[ "$(ctr_field keep .Id)" = "$id" ]
	[ "$(ctr_field keep .State.Status)" = created ]
	[ "$(ctr_field keep .Path)" = true ]
}

@test "docker CLI: create, ps -a, inspect, rename, rm" {
	run dkr create --name dk -e X=1 -l a=b shoal/busybox sleep 5
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	id=$output
	run dkr ps -a --format '{{.ID}} {{.Names}} {{.Image}} {{.Status}}'
	[ "$status" -eq 0 ]
	[ "$output" = "${id:0:12} dk shoal/busybox Created" ]
	run dkr inspect -f '{{.Name}} {{.State.Status}} {{index .Config.Labels "a"}} {{.Path}}' dk
	[ "$output" = "/dk created b sleep" ]
	run dkr rename dk dk2
	[ "$status" -eq 0 ]
	run dkr inspect -f '{{.Name}}' "${id:0:12}"
	[ "$output" = /dk2 ]
	run dkr create --name dk2 shoal/busybox
	[ "$status" -ne 0 ]
	[[ $output == *"is already in use"* ]]
	run dkr rm dk2
	[ "$status" -eq 0 ]
	run dkr ps -aq
	[ -z "$output" ]
	run dkr rm nosuch
	[ "$status" -ne 0 ]
	[[ $output == *"No such container: nosuch"* ]]
}

# ---- running containers -------------------------------------------------------

@test "start + wait: exit code, State, logs with stdout and stderr apart" {
	need_shim
	id=$(ctr_run out 'echo to-out; echo to-err >&2; exit 3')
	run api POST "/containers/$id/wait"
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(head -n -1 <<<"$output" | jq .StatusCode)" -eq 3 ]
	[ "$(ctr_field "$id" .State.Status)" = exited ]
	[ "$(ctr_field "$id" .State.ExitCode)" -eq 3 ]
	[ "$(ctr_field "$id" .State.Running)" = false ]
	[ "$(ctr_field "$id" .State.Pid)" -eq 0 ]
	[[ $(ctr_field "$id" .State.FinishedAt) == 20* ]]
	[[ $(ctr_field "$id" .State.StartedAt) == 20* ]]
	out=$(curl -s --unix-socket "$W/shoal.sock" "http://localhost/containers/$id/logs?stdout=1" | demux)
	[ "$out" = to-out ]
	out=$(curl -s --unix-socket "$W/shoal.sock" "http://localhost/containers/$id/logs?stderr=1" | demux)
	[ "$out" = to-err ]
	out=$(curl -s --unix-socket "$W/shoal.sock" "http://localhost/containers/$id/logs?stdout=1&stderr=1&timestamps=1" | demux)
	[ "$(wc -l <<<"$out")" -eq 2 ]
	[[ $(head -1 <<<"$out") =~ ^20[0-9-]+T[0-9:.]+Z\ to- ]]
	# the json-file log on disk, Docker's format
	[ "$(jq -r .stream "$W/data/containers/$id/$id-json.log" | sort | tr '\n' ' ')" = "stderr stdout " ]
	# run again: next-exit waits for the new run
	run api POST "/containers/$id/wait?condition=bogus"
	[ "${lines[-1]}" = "HTTP 400" ]
	run api POST "/containers/$id/start"
	[ "${lines[-1]}" = "HTTP 204" ]
	run api POST "/containers/$id/wait?condition=not-running"
	[ "$(head -n -1 <<<"$output" | jq .StatusCode)" -eq 3 ]
	[ "$(jq -r .log "$W/data/containers/$id/$id-json.log" | grep -c to-out)" -eq 2 ]
}

@test "start errors: 127 and 126 like Docker, nothing left running or mounted" {
	need_shim
	before=$(leftovers)
	id=$(ctr_create nf '{"Image": "shoal/busybox", "Cmd": ["/nosuchcmd"]}')
	run api POST "/containers/$id/start"
	[ "${lines[-1]}" = "HTTP 400" ]
	[[ $output == *nosuchcmd* ]]
	[ "$(ctr_field "$id" .State.ExitCode)" -eq 127 ]
	[ "$(ctr_field "$id" .State.Status)" = created ]
	[[ $(ctr_field "$id" .State.Error) == *nosuchcmd* ]]
	id2=$(ctr_create nx '{"Image": "shoal/busybox", "Cmd": ["/etc/passwd"]}')
	run api POST "/containers/$id2/start"
	[ "${lines[-1]}" = "HTTP 400" ]
	[ "$(ctr_field "$id2" .State.ExitCode)" -eq 126 ]
	api DELETE "/containers/$id" | tail -1 | grep -q 204
	api DELETE "/containers/$id2" | tail -1 | grep -q 204
	[ "$(leftovers)" = "$before" ]
	run api POST /containers/nosuch/start
	[ "${lines[-1]}" = "HTTP 404" ]
}

@test "stop: SIGTERM honoured fast, SIGKILL after t; kill -s; restart; rm of a running one" {
	need_shim
	# pid 1 with a TERM handler: stops at once with its own code
	id=$(ctr_run trap 'trap "exit 7" TERM; while :; do sleep 0.1; done')
	ctr_wait_status "$id" running
	t0=$(date +%s%N)
	run api POST "/containers/$id/stop?t=10"
	[ "${lines[-1]}" = "HTTP 204" ]
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt 3000 ] || { echo "stop took $ms ms"; false; }
	[ "$(ctr_field "$id" .State.ExitCode)" -eq 7 ]
	run api POST "/containers/$id/stop"
	[ "${lines[-1]}" = "HTTP 304" ]
	# no handler (pid 1 ignores TERM): killed after t=1
	id2=$(ctr_run notrap 'sleep 100')
	t0=$(date +%s%N)
	run api POST "/containers/$id2/stop?t=1"
	[ "${lines[-1]}" = "HTTP 204" ]
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -ge 900 ] && [ "$ms" -lt 6000 ] || { echo "stop took $ms ms"; false; }
	[ "$(ctr_field "$id2" .State.ExitCode)" -eq 137 ]
	# restart runs it again
	pid1=$(ctr_field "$id" .State.Pid)
	run api POST "/containers/$id/restart?t=1"
	[ "${lines[-1]}" = "HTTP 204" ]
	[ "$(ctr_field "$id" .State.Status)" = running ]
	[ "$(ctr_field "$id" .State.Pid)" != "$pid1" ]
	# kill with a signal name; unknown signal -> 400; not running -> 409
	run api POST "/containers/$id/kill?signal=SIGBOGUS"
	[ "${lines[-1]}" = "HTTP 400" ]
	# (pid 1 gets only the signals it handles: this one traps TERM)
	run api POST "/containers/$id/kill?signal=SIGTERM"
	[ "${lines[-1]}" = "HTTP 204" ]
	run api POST "/containers/$id/wait"
	[ "$(head -n -1 <<<"$output" | jq .StatusCode)" -eq 7 ]
	run api POST "/containers/$id/kill"
	[ "${lines[-1]}" = "HTTP 409" ]
	[[ $output == *"is not running"* ]]
	# rm of a running container: 409 without force, gone with it
	id3=$(ctr_run busy 'sleep 100')
	ctr_wait_status "$id3" running
	run api DELETE "/containers/$id3"
	[ "${lines[-1]}" = "HTTP 409" ]
	[[ $output == *"You cannot remove a running container $id3"* ]]
	pid=$(ctr_field "$id3" .State.Pid)
	kill -0 "$pid"
	run api DELETE "/containers/$id3?force=1"
	[ "${lines[-1]}" = "HTTP 204" ]
	! kill -0 "$pid" 2>/dev/null || false
	run api GET "/containers/$id3/json"
	[ "${lines[-1]}" = "HTTP 404" ]
}

@test "exec, top, stats; wait next-exit and removed" {
	need_shim
	id=$(ctr_create ex '{"Image": "shoal/busybox", "Cmd": ["sleep", "100"], "Env": ["FOO=bar"]}')
	# a waiter for the next exit registered before the start
	curl -s --unix-socket "$W/shoal.sock" -X POST "http://localhost/containers/$id/wait?condition=next-exit" > "$W/wait.out" &
	wpid=$!
	curl -s --unix-socket "$W/shoal.sock" -X POST "http://localhost/containers/$id/wait?condition=removed" > "$W/removed.out" &
	rpid=$!
	api POST "/containers/$id/start" | tail -1 | grep -q 204
	run ctr_exec ex sh -c 'echo "$FOO $(hostname)"; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = "bar ${id:0:12}" ]
	run -127 ctr_exec ex /nosuch
	run ctr_exec ex cat /etc/hostname
	[ "$output" = "${id:0:12}" ]
	# exec on a stopped container: 409
	run api POST /containers/nosuch/exec '{"Cmd": ["true"]}'
	[ "${lines[-1]}" = "HTTP 404" ]
	run api POST "/containers/$id/exec" '{"Cmd": []}'
	[ "${lines[-1]}" = "HTTP 400" ]
	# top: the container's processes only
	run api GET "/containers/$id/top"
	[ "${lines[-1]}" = "HTTP 200" ]
	j=$(head -n -1 <<<"$output")
	[ "$(jq -r '.Titles | index("PID")' <<<"$j")" != null ]
	[ "$(jq '.Processes | length' <<<"$j")" -eq 1 ]
	[[ $(jq -r '.Processes[0][-1]' <<<"$j") == "sleep 100" ]]
	run api GET "/containers/$id/top?ps_args=-o%20pid,comm"
	[ "$(head -n -1 <<<"$output" | jq -c .Titles)" = '["PID","COMMAND"]' ]
	# stats: one sample with pids and the network counters of eth0
	run api GET "/containers/$id/stats?stream=0"
	[ "${lines[-1]}" = "HTTP 200" ]
	j=$(head -n -1 <<<"$output")
	[ "$(jq -r .id <<<"$j")" = "$id" ]
	[ "$(jq -r .name <<<"$j")" = /ex ]
	[ "$(jq .pids_stats.current <<<"$j")" -eq 1 ]
	[ "$(jq '.memory_stats.usage > 0' <<<"$j")" = true ]
	[ "$(jq '.networks.eth0 | has("rx_bytes")' <<<"$j")" = true ]
	run api POST "/containers/$id/kill"
	[ "${lines[-1]}" = "HTTP 204" ]
	wait "$wpid"
	[ "$(jq .StatusCode "$W/wait.out")" -eq 137 ]
	kill -0 "$rpid"     # still waiting for the removal
	api DELETE "/containers/$id" | tail -1 | grep -q 204
	wait "$rpid"
	[ "$(jq .StatusCode "$W/removed.out")" -eq 137 ]
}

@test "networking: default network, a user network with a fixed IP, none, host" {
	need_shim
	a=$(ctr_run pa 'sleep 300')
	b=$(ctr_run pb 'sleep 300')
	ipa=$(ctr_field pa .NetworkSettings.IPAddress)
	[[ $ipa =~ ^172\.17\.0\.[0-9]+$ ]]
	[ "$(ctr_field pa .NetworkSettings.Networks.shoal0.IPAddress)" = "$ipa" ]
	[ "$(ctr_field pa .NetworkSettings.Gateway)" = 172.17.0.1 ]
	[ "$(ctr_field pa .NetworkSettings.IPPrefixLen)" -eq 16 ]
	[[ $(ctr_field pa .NetworkSettings.SandboxKey) == "$W/exec/netns/${a:0:12}" ]]
	run ctr_exec pb ping -c 1 -W 2 "$ipa"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# /etc/hosts names the container's own address
	run ctr_exec pa cat /etc/hosts
	[[ $output == *"$ipa	${a:0:12}"* ]]
	# the endpoint row names the container; network inspect shows its name
	[ "$(sqlite3 "$W/data/shoal.db" "SELECT count(*) FROM endpoints WHERE container_id = '$a'")" -eq 1 ]
	[ "$(shoal network inspect shoal0 | jq -r --arg a "$a" '.[0].Containers[$a].Name')" = pa ]
	# a user network and --ip
	shoal network create --subnet 10.88.0.0/24 usernet >/dev/null
	c=$(ctr_create pc '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "usernet"}, "NetworkingConfig": {"EndpointsConfig": {"usernet": {"IPAMConfig": {"IPv4Address": "10.88.0.50"}}}}}')
	api POST "/containers/$c/start" | tail -1 | grep -q 204
	[ "$(ctr_field pc .NetworkSettings.Networks.usernet.IPAddress)" = 10.88.0.50 ]
	run ctr_exec pc ip -4 -o addr show dev eth0
	[[ $output == *"inet 10.88.0.50/24"* ]]
	# an address taken on that network: start refused, nothing left over
	d=$(ctr_create pd '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "usernet"}, "NetworkingConfig": {"EndpointsConfig": {"usernet": {"IPAMConfig": {"IPv4Address": "10.88.0.50"}}}}}')
	run api POST "/containers/$d/start"
	[[ ${lines[-1]} == "HTTP 4"* ]]
	[ "$(ctr_field pd .State.Status)" = created ]
	[ ! -e "$W/exec/netns/${d:0:12}" ]
	# none: only lo
	n=$(ctr_create pn '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}}')
	api POST "/containers/$n/start" | tail -1 | grep -q 204
	run ctr_exec pn ip -o link
	[ "$(wc -l <<<"$output")" -eq 1 ]
	[[ $output == *"lo:"* ]]
	# host: the shim's namespace ($HOSTNS), its shoal0 device included
	h=$(ctr_create ph '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "host"}}')
	api POST "/containers/$h/start" | tail -1 | grep -q 204
	run ctr_exec ph ip -o link
	[[ $output == *"shoal0"* ]]
	[ "$(ctr_field ph .NetworkSettings.SandboxKey)" = "" ]
}

@test "rm -f and --rm leave nothing: row, layer, dirs, mounts, netns, veths, map entries" {
	need_shim
	# the default network once (it stays, as Docker's bridge does)
	ctr_create warm '{"Image": "shoal/busybox"}' >/dev/null
	api DELETE /containers/warm | tail -1 | grep -q 204
	before=$(leftovers)
	layers=$(layer_dirs)
	id=$(ctr_run gone 'sleep 300')
	ctr_wait_status "$id" running
	[ "$(leftovers)" != "$before" ]
	[ "$(ip -n "$HOSTNS" -o link show | grep -c shl)" -eq 1 ]
	run api DELETE "/containers/$id?force=1"
	[ "${lines[-1]}" = "HTTP 204" ]
	[ "$(leftovers)" = "$before" ]
	[ "$(layer_dirs)" -eq "$layers" ]
	# --rm (AutoRemove): gone once it exits by itself
	id=$(ctr_create tmp '{"Image": "shoal/busybox", "Cmd": ["sh", "-c", "sleep 0.3"], "HostConfig": {"AutoRemove": true}}')
	api POST "/containers/$id/start" | tail -1 | grep -q 204
	run api POST "/containers/$id/wait?condition=removed"
	[ "$(head -n -1 <<<"$output" | jq .StatusCode)" -eq 0 ]
	[ "$(leftovers)" = "$before" ]
	[ "$(layer_dirs)" -eq "$layers" ]
	run api GET "/containers/$id/json"
	[ "${lines[-1]}" = "HTTP 404" ]
}

@test "shoald killed (-9) with containers running: they keep running and talking; restart reattaches, records exits meanwhile" {
	need_shim
	a=$(ctr_run ka 'sleep 300')
	b=$(ctr_run kb 'trap "exit 7" TERM; while :; do sleep 0.1; done')
	c=$(ctr_run kc 'sleep 300')
	ctr_wait_status "$c" running
	ipa=$(ctr_field ka .NetworkSettings.IPAddress)
	pida=$(ctr_field ka .State.Pid)
	pidc=$(ctr_field kc .State.Pid)
	# b pings a every 0.2 s for 6 s, across the restart
	eid=$(api POST "/containers/$b/exec" "$(jq -nc --arg ip "$ipa" '{Cmd: ["sh", "-c", "ping -i 0.2 -c 30 \($ip) > /tmp/ping.log 2>&1"]}')" | head -n -1 | jq -r .Id)
	api POST "/exec/$eid/start" '{"Detach": true}' | tail -1 | grep -q 200
	sleep 0.5
	stop_shoald 9
	kill -0 "$pida"
	# c dies while shoald is away: its exit is recorded at the restart
	kill -9 "$pidc"
	sleep 1
	start_shoald
	[ "$(ctr_field ka .State.Status)" = running ]
	[ "$(ctr_field ka .State.Pid)" = "$pida" ]
	[ "$(ctr_field kc .State.Status)" = exited ]
	[ "$(ctr_field kc .State.ExitCode)" -eq 137 ]
	[ ! -e "$W/exec/netns/${c:0:12}" ]
	[ "$(sqlite3 "$W/data/shoal.db" "SELECT count(*) FROM endpoints WHERE container_id = '$c'")" -eq 0 ]
	grep -q "running reattached" "$W/shoald.log"
	# the pings all came back, none lost over the restart
	for _ in $(seq 1 60); do
		ctr_exec kb cat /tmp/ping.log | grep -q "packets received" && break
		sleep 0.2
	done
	run ctr_exec kb cat /tmp/ping.log
	[[ $output == *"30 packets transmitted, 30 packets received"* ]] || { echo "$output"; false; }
	# stop and exits work after the restart
	t0=$(date +%s%N)
	run api POST "/containers/$b/stop"
	[ "${lines[-1]}" = "HTTP 204" ]
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 3000 ]
	[ "$(ctr_field kb .State.ExitCode)" -eq 7 ]
	kill -9 "$pida"
	ctr_wait_status ka exited
	[ "$(ctr_field ka .State.ExitCode)" -eq 137 ]
	# a clean stop of shoald keeps containers too
	d=$(ctr_run kd 'sleep 300')
	pidd=$(ctr_field kd .State.Pid)
	stop_shoald
	kill -0 "$pidd"
	start_shoald
	[ "$(ctr_field kd .State.Status)" = running ]
	run api DELETE "/containers/$d?force=1"
	[ "${lines[-1]}" = "HTTP 204" ]
	! kill -0 "$pidd" 2>/dev/null || false
}

@test "docker CLI: run (exit codes, output, --rm), run -d, logs, exec, ps, stop, wait, rm -f" {
	need_shim
	run dkr run --rm shoal/busybox sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ $output == *out* && $output == *err* ]]
	run -127 dkr run --rm shoal/busybox /nosuchcmd
	run -126 dkr run --rm shoal/busybox /etc/passwd
	# a terminal attached before the start misses nothing, not even a
	# partial line printed at once (the init is held until it connects)
	command -v script >/dev/null || skip "script (util-linux) not installed"
	for _ in 1 2 3; do
		run script -qec "DOCKER_HOST=unix://$W/shoal.sock DOCKER_CLI_HINTS=false docker run --rm -t shoal/busybox sh -c 'printf no-newline; exit 4'" /dev/null
		[ "$status" -eq 4 ]
		[ "$output" = no-newline ]
	done
	run dkr run -d --name bg shoal/busybox sh -c 'echo started; exec sleep 300'
	[ "$status" -eq 0 ]
	id=$output
	[[ $id =~ ^[0-9a-f]{64}$ ]]
	for _ in $(seq 1 50); do dkr logs bg 2>/dev/null | grep -q started && break; sleep 0.1; done
	run dkr logs bg
	[ "$output" = started ]
	run dkr exec bg sh -c 'echo "in $(hostname)"; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = "in ${id:0:12}" ]
	run dkr ps --format '{{.Names}} {{.Status}}'
	[[ $output == "bg Up "* ]]
	run dkr inspect -f '{{.State.Running}} {{.NetworkSettings.IPAddress}}' bg
	[[ $output == "true 172.17."* ]]
	run dkr top bg
	[[ $output == *"sleep 300"* ]]
	run dkr stop -t 1 bg
	[ "$status" -eq 0 ]
	run dkr wait bg
	[ "$output" = 137 ]
	run dkr ps -a --format '{{.Status}}'
	[[ $output == "Exited (137) "* ]]
	run dkr rm -f bg
	[ "$status" -eq 0 ]
	run dkr ps -aq
	[ -z "$output" ]
}

@test "HostConfig settings reach the container: read-only rootfs, caps, ulimits, json-file rotation" {
	need_shim
	run api POST /containers/create '{"Image": "shoal/busybox", "HostConfig": {"LogConfig": {"Type": "syslog"}}}'
	[ "${lines[-1]}" = "HTTP 400" ]
	[[ $output == *'logging driver \"syslog\" is not supported'* ]]
	run api POST /containers/create '{"Image": "shoal/busybox", "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "lots"}}}}'
	[ "${lines[-1]}" = "HTTP 400" ]
	[[ $output == *"invalid max-size: lots"* ]]
	ro=$(ctr_create ro '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"ReadonlyRootfs": true, "CapDrop": ["ALL"], "Ulimits": [{"Name": "nofile", "Soft": 321, "Hard": 321}]}}')
	api POST "/containers/$ro/start" | tail -1 | grep -q 204
	run ctr_exec ro touch /newfile
	[ "$status" -ne 0 ]
	[[ $output == *"Read-only file system"* ]]
	run ctr_exec ro sh -c 'grep CapEff /proc/self/status'
	[[ $output == *"0000000000000000"* ]]
	run ctr_exec ro sh -c 'ulimit -n'
	[ "$output" = 321 ]
	# json-file max-size / max-file: the log rotates, at most 2 files
	lg=$(ctr_create lg '{"Image": "shoal/busybox", "Cmd": ["sh", "-c", "i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"], "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "4k", "max-file": "2"}}}}')
	api POST "/containers/$lg/start" | tail -1 | grep -q 204
	run api POST "/containers/$lg/wait"
	[ "$(head -n -1 <<<"$output" | jq .StatusCode)" -eq 0 ]
	log=$W/data/containers/$lg/$lg-json.log
	[ -f "$log.1" ]
	[ ! -e "$log.2" ]
	[ "$(stat -c %s "$log")" -le 4096 ]
	# the last line is there, the first is gone
	out=$(curl -s --unix-socket "$W/shoal.sock" "http://localhost/containers/$lg/logs?stdout=1&tail=1" | demux)
	[[ $out == line-399-* ]]
	! grep -q '"line-0-' "$log" "$log.1" || false
}

@test "restart policies: on-failure:N, always until stopped, unless-stopped across a shoald restart" {
	need_shim
	of=$(ctr_create of '{"Image": "shoal/busybox", "Cmd": ["sh", "-c", "exit 3"], "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}}')
	api POST "/containers/$of/start" | tail -1 | grep -q 204
	for _ in $(seq 1 60); do
		[ "$(ctr_field of .RestartCount)" -eq 2 ] && [ "$(ctr_field of .State.Status)" = exited ] && break
		sleep 0.1
	done
	[ "$(ctr_field of .RestartCount)" -eq 2 ]
	[ "$(ctr_field of .State.Status)" = exited ]
	[ "$(ctr_field of .State.ExitCode)" -eq 3 ]
	# on-failure leaves a clean exit alone
	ok=$(ctr_create ok '{"Image": "shoal/busybox", "Cmd": ["true"], "HostConfig": {"RestartPolicy": {"Name": "on-failure"}}}')
	api POST "/containers/$ok/start" | tail -1 | grep -q 204
	api POST "/containers/$ok/wait" >/dev/null
	sleep 0.5
	[ "$(ctr_field ok .RestartCount)" -eq 0 ]
	[ "$(ctr_field ok .State.Status)" = exited ]
	# always: back after each exit, until a user stops it
	al=$(ctr_create al '{"Image": "shoal/busybox", "Cmd": ["sh", "-c", "sleep 0.2"], "HostConfig": {"RestartPolicy": {"Name": "always"}}}')
	api POST "/containers/$al/start" | tail -1 | grep -q 204
	for _ in $(seq 1 60); do
		[ "$(ctr_field al .RestartCount)" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(ctr_field al .RestartCount)" -ge 2 ]
	run api POST "/containers/$al/stop?t=1"
	[[ ${lines[-1]} == "HTTP 204" || ${lines[-1]} == "HTTP 304" ]]
	n=$(ctr_field al .RestartCount)
	sleep 1
	[ "$(ctr_field al .State.Status)" = exited ]
	[ "$(ctr_field al .RestartCount)" -eq "$n" ]
	# unless-stopped: one stopped by the user stays down over a shoald
	# restart; one that died while shoald was away comes back
	us=$(ctr_create us '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}}')
	ud=$(ctr_create ud '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}}')
	api POST "/containers/$us/start" | tail -1 | grep -q 204
	api POST "/containers/$ud/start" | tail -1 | grep -q 204
	api POST "/containers/$us/stop?t=0" | tail -1 | grep -q 204
	pid=$(ctr_field ud .State.Pid)
	stop_shoald 9
	kill -9 "$pid"
	sleep 0.5
	start_shoald
	ctr_wait_status ud running
	[ "$(ctr_field ud .State.Pid)" != "$pid" ]
	[ "$(ctr_field us .State.Status)" = exited ]
	run api DELETE "/containers/$ud?force=1"
	[ "${lines[-1]}" = "HTTP 204" ]
}

@test "pause / unpause: frozen, shown as paused, exec refused; docker pause" {
	need_shim
	id=$(ctr_run tick 'while :; do echo tick; sleep 0.1; done')
	log=$W/data/containers/$id/$id-json.log
	sleep 0.5
	run api POST "/containers/$id/pause"
	[ "${lines[-1]}" = "HTTP 204" ]
	[ "$(ctr_field tick .State.Status)" = paused ]
	[ "$(ctr_field tick .State.Paused)" = true ]
	[ "$(ctr_field tick .State.Running)" = true ]
	run api GET '/containers/json?filters=%7B%22status%22%3A%5B%22paused%22%5D%7D'
	[[ $(head -n -1 <<<"$output" | jq -r '.[0].Status') == *"(Paused)" ]]
	n1=$(wc -l < "$log")
	sleep 0.6
	[ "$(wc -l < "$log")" -eq "$n1" ]
	run api POST "/containers/$id/exec" '{"Cmd": ["true"]}'
	[ "${lines[-1]}" = "HTTP 409" ]
	[[ $output == *"is paused, unpause the container before exec"* ]]
	run api POST "/containers/$id/pause"
	[ "${lines[-1]}" = "HTTP 409" ]
	run api POST "/containers/$id/unpause"
	[ "${lines[-1]}" = "HTTP 204" ]
	sleep 0.5
	[ "$(wc -l < "$log")" -gt "$n1" ]
	[ "$(ctr_field tick .State.Status)" = running ]
	run api POST "/containers/$id/unpause"
	[ "${lines[-1]}" = "HTTP 409" ]
	run dkr pause tick
	[ "$status" -eq 0 ]
	run dkr ps --format '{{.Status}}'
	[[ $output == *"(Paused)" ]]
	run dkr unpause tick
	[ "$status" -eq 0 ]
	run dkr rm -f tick
	[ "$status" -eq 0 ]
}
