#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# volumes.bats - `shoal volume create|ls|inspect|rm|prune` and the
# /volumes API against a real shoald: Docker's JSON and messages, names
# and options checked, data under <data-root>/volumes/<name>/_data, state
# kept across restarts and storage-driver switches, concurrent creates,
# and the unmodified docker CLI driving shoald.

load helpers

setup() {
	e2e_setup
	start_shoald
}

teardown() {
	e2e_teardown
}

dk() {
	DOCKER_CLI_HINTS=false DOCKER_HOST="unix://$W/shoal.sock" docker "$@"
}

@test "volume create/inspect/ls/rm: Docker's fields, data dir on disk" {
	run shoal volume create --name new_volume
	[ "$status" -eq 0 ]
	[ "$output" = new_volume ]
	[ -d "$W/data/volumes/new_volume/_data" ]

	run shoal volume inspect new_volume
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0] | keys | join(",")')" = \
		"CreatedAt,Driver,Labels,Mountpoint,Name,Options,Scope" ]
	[ "$(echo "$output" | jq -r '.[0].Driver')" = local ]
	[ "$(echo "$output" | jq -r '.[0].Scope')" = local ]
	[ "$(echo "$output" | jq -r '.[0].Labels')" = null ]
	[ "$(echo "$output" | jq -r '.[0].Options')" = null ]
	[ "$(echo "$output" | jq -r '.[0].Mountpoint')" = "$W/data/volumes/new_volume/_data" ]
	[[ "$(echo "$output" | jq -r '.[0].CreatedAt')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]

	run shoal volume inspect -f '{{.Name}} {{.Driver}}' new_volume
	[ "$output" = "new_volume local" ]
	# The generic inspect finds volumes too.
	run shoal inspect --type volume -f '{{.Mountpoint}}' new_volume
	[ "$output" = "$W/data/volumes/new_volume/_data" ]
	run shoal inspect -f '{{.Name}}' new_volume
	[ "$output" = new_volume ]

	run shoal volume ls
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[ "${lines[1]}" = "local     new_volume" ]

	shoal volume create --name new_volume1
	run shoal volume rm new_volume1
	[ "$status" -eq 0 ]
	[ "$output" = new_volume1 ]
	[ ! -e "$W/data/volumes/new_volume1" ]
	run shoal volume ls -q
	[ "$output" = new_volume ]

	run shoal volume rm new_volume1
	[ "$status" -eq 1 ]
	[[ "$output" == *"get new_volume1: no such volume"* ]]
	run shoal volume rm -f new_volume1
	[ "$status" -eq 0 ]
	run shoal volume inspect new_volume1
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such volume: new_volume1"* ]]
}

@test "volume create: positional name, random name, labels and options persisted" {
	run shoal volume create v_pos
	[ "$output" = v_pos ]
	run shoal volume create
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	[ -d "$W/data/volumes/$output/_data" ]

	run shoal volume create --label a=b --label c -o type=tmpfs -o device=tmpfs -o o=size=1m tv
	[ "$status" -eq 0 ]
	run shoal volume inspect tv
	[ "$(echo "$output" | jq -c '.[0].Labels')" = '{"a":"b","c":""}' ]
	[ "$(echo "$output" | jq -c '.[0].Options')" = '{"device":"tmpfs","o":"size=1m","type":"tmpfs"}' ]

	run shoal volume create --name x1 x2
	[ "$status" -eq 1 ]
	[[ "$output" == *"Conflicting options"* ]]
}

@test "volume create: bad names and options are refused, nothing is made" {
	local long
	long=$(printf 'a%.0s' $(seq 256))
	for n in "a/b" ".." "../x" "_x" "a" "$long"; do
		run shoal volume create --name "$n"
		[ "$status" -eq 1 ]
		[[ "$output" == "Error response from daemon: create "* ]]
	done
	run shoal volume create --name "a/b"
	[[ "$output" == *'"a/b" includes invalid characters for a local volume name'* ]]
	run shoal volume create --name "$long"
	[[ "$output" == *"volume name is too long"* ]]
	run shoal volume create --name ""
	[ "$status" -eq 1 ]
	[[ "$output" == *"must not be empty"* ]]
	# 255 bytes is the longest a name can be.
	run shoal volume create --name "${long:1}"
	[ "$status" -eq 0 ]
	shoal volume rm "${long:1}"

	run shoal volume create -o foo=bar v1
	[ "$status" -eq 1 ]
	[[ "$output" == *'create v1: invalid option: "foo"'* ]]
	run shoal volume create -o type=tmpfs v1
	[[ "$output" == *'missing required option: "device"'* ]]
	run shoal volume create -d nosuch v1
	[ "$status" -eq 1 ]
	[[ "$output" == *'plugin "nosuch" not found'* ]]

	[ -z "$(shoal volume ls -q)" ]
	[ -z "$(ls -A "$W/data/volumes")" ]
}

@test "volume API: Docker's status codes and bodies" {
	run api POST /v1.41/volumes/create '{"Name":"apiv","Labels":{"k":"v"}}'
	[ "${lines[-1]}" = "HTTP 201" ]
	[ "$(echo "${lines[0]}" | jq -r .Name)" = apiv ]
	run api POST /v1.41/volumes/create '{"Name":"apiv"}'
	[ "${lines[-1]}" = "HTTP 409" ]
	[ "$(echo "${lines[0]}" | jq -r .message)" = "volume apiv already exists" ]
	run api POST /v1.41/volumes/create '{"Name":'
	[ "${lines[-1]}" = "HTTP 400" ]
	run api POST /v1.41/volumes/create '{"Name":"a/b"}'
	[ "${lines[-1]}" = "HTTP 400" ]
	run api GET /v1.41/volumes
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(echo "${lines[0]}" | jq -c '[.Volumes[].Name], .Warnings')" = '["apiv"]
null' ]
	run api GET '/v1.41/volumes?filters=%7B%22label%22%3A%7B%22k%3Dv%22%3Atrue%7D%7D'
	[ "$(echo "${lines[0]}" | jq -c '[.Volumes[].Name]')" = '["apiv"]' ]
	run api GET '/v1.41/volumes?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D'
	[ "${lines[-1]}" = "HTTP 400" ]
	[ "$(echo "${lines[0]}" | jq -r .message)" = "Invalid filter 'bogus'" ]
	run api GET /v1.41/volumes/nosuch
	[ "${lines[-1]}" = "HTTP 404" ]
	[ "$(echo "${lines[0]}" | jq -r .message)" = "get nosuch: no such volume" ]
	run api DELETE /v1.41/volumes/nosuch
	[ "${lines[-1]}" = "HTTP 404" ]
	run api DELETE '/v1.41/volumes/nosuch?force=1'
	[ "${lines[-1]}" = "HTTP 204" ]
	run api DELETE /v1.41/volumes/apiv
	[ "${lines[-1]}" = "HTTP 204" ]
	run api POST /v1.41/volumes/prune
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(echo "${lines[0]}" | jq -c .)" = '{"VolumesDeleted":[],"SpaceReclaimed":0}' ]
}

@test "volume ls: filters, quiet, format" {
	shoal volume create --label env=prod --label tier=db vol_a >/dev/null
	shoal volume create --label env=dev vol_b >/dev/null
	shoal volume create other >/dev/null
	run shoal volume ls -q --filter label=env
	[ "$output" = $'vol_a\nvol_b' ]
	run shoal volume ls -q --filter label=env=prod
	[ "$output" = vol_a ]
	run shoal volume ls -q --filter label=env=prod --filter label=tier=web
	[ -z "$output" ]
	run shoal volume ls -q --filter name=vol_
	[ "$output" = $'vol_a\nvol_b' ]
	run shoal volume ls -q --filter name=vol_a --filter name=other
	[ "$output" = $'other\nvol_a' ]
	run shoal volume ls -q --filter driver=local --filter dangling=true
	[ "$output" = $'other\nvol_a\nvol_b' ]
	run shoal volume ls -q --filter dangling=false
	[ -z "$output" ]
	run shoal volume ls --filter dangling=maybe
	[ "$status" -eq 1 ]
	[[ "$output" == *"Invalid filter 'dangling=[maybe]'"* ]]
	run shoal volume ls --filter colour=red
	[ "$status" -eq 1 ]
	[[ "$output" == *"Invalid filter 'colour'"* ]]
	run shoal volume ls --filter name=vol_b --format '{{.Name}}|{{.Driver}}|{{.Scope}}|{{.Labels}}|{{.Mountpoint}}'
	[ "$output" = "vol_b|local|local|env=dev|$W/data/volumes/vol_b/_data" ]
	run shoal volume ls --filter name=other --format json
	[ "$(echo "$output" | jq -r .Name)" = other ]
}

@test "volume prune: named volumes only with -a; label filters; space reclaimed" {
	shoal volume create --label keep=yes kept >/dev/null
	shoal volume create gone >/dev/null
	head -c 3000 /dev/urandom > "$W/data/volumes/gone/_data/blob"

	run shoal volume prune -f
	[ "$status" -eq 0 ]
	[ "$output" = "Total reclaimed space: 0B" ]
	[ "$(shoal volume ls -q | wc -l)" -eq 2 ]

	run shoal volume prune -a -f --filter label!=keep
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = gone ]
	[ "${lines[-1]}" = "Total reclaimed space: 3kB" ]
	[ ! -e "$W/data/volumes/gone" ]
	run shoal volume ls -q
	[ "$output" = kept ]

	# Without -f it asks; anything but y keeps the volumes.
	run bash -c "echo n | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' volume prune -a"
	[ "$status" -eq 0 ]
	[[ "$output" == *"WARNING! This will remove all local volumes not used by at least one container."* ]]
	[ "$(shoal volume ls -q)" = kept ]
	run bash -c "echo y | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' volume prune -a --filter label=keep=yes"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Volumes:"*kept* ]]
	[ -z "$(shoal volume ls -q)" ]
}

@test "volume create: 20 concurrent creates of one name make exactly one volume" {
	local i pids=()
	for i in $(seq 1 20); do
		curl -s --unix-socket "$W/shoal.sock" -o "$W/c$i.json" -w '%{http_code}\n' \
			-H 'Content-Type: application/json' -X POST \
			--data-binary '{"Name":"race","Labels":{"n":"'"$i"'"}}' \
			http://localhost/v1.41/volumes/create > "$W/c$i.code" &
		pids+=($!)
	done
	# Only the curls: a bare wait would wait for shoald too.
	wait "${pids[@]}"
	[ "$(cat "$W"/c*.code | grep -c '^201$')" -eq 1 ]
	[ "$(cat "$W"/c*.code | grep -c '^409$')" -eq 19 ]
	for i in $(seq 1 20); do
		if [ "$(cat "$W/c$i.code")" = 409 ]; then
			[ "$(jq -r .message "$W/c$i.json")" = "volume race already exists" ]
		else
			winner=$i
		fi
	done
	# The volume is the winner's (its label), once.
	[ "$(shoal volume ls -q)" = race ]
	[ "$(shoal volume inspect -f '{{index .Labels "n"}}' race)" = "$winner" ]
	[ "$(ls "$W/data/volumes")" = race ]
}

@test "volume: survives a daemon restart and a storage-driver switch" {
	shoal volume create --label l=1 -o type=tmpfs -o device=tmpfs keepme >/dev/null
	shoal volume create plain >/dev/null
	echo precious > "$W/data/volumes/plain/_data/file"
	before=$(shoal volume inspect keepme plain)
	stop_shoald
	start_shoald
	[ "$(shoal volume inspect keepme plain)" = "$before" ]
	stop_shoald
	start_shoald --storage-driver vfs
	[ "$(shoal info --format '{{.Driver}}')" = vfs ]
	[ "$(shoal volume inspect keepme plain)" = "$before" ]
	[ "$(cat "$W/data/volumes/plain/_data/file")" = precious ]
	run shoal volume ls -q
	[ "$output" = $'keepme\nplain' ]
}

@test "docker CLI against shoald: create, ls, inspect, rm, prune match shoal" {
	command -v docker >/dev/null || skip "docker CLI not installed (make deps installs docker.io)"
	run dk volume create --label from=docker -o type=tmpfs -o device=tmpfs -o o=size=2m dvol
	[ "$status" -eq 0 ]
	[ "$output" = dvol ]
	run dk volume create dplain
	[ "$output" = dplain ]
	[ "$(dk volume inspect dvol)" = "$(shoal volume inspect dvol)" ]
	[ "$(dk volume ls)" = "$(shoal volume ls)" ]
	[ "$(dk volume ls -q --filter label=from=docker)" = dvol ]
	[ "$(dk volume ls --format '{{.Name}} {{.Driver}} {{.Mountpoint}}')" = \
		"$(shoal volume ls --format '{{.Name}} {{.Driver}} {{.Mountpoint}}')" ]
	run dk volume inspect nosuch
	[ "$status" -eq 1 ]
	run dk volume create a/b
	[ "$status" -eq 1 ]
	[[ "$output" == *"includes invalid characters for a local volume name"* ]]
	run dk volume create dplain
	[ "$status" -eq 1 ]
	[[ "$output" == *"volume dplain already exists"* ]]

	# Default prune (anonymous only) keeps named volumes, as shoal's does.
	run dk volume prune -f
	[ "$status" -eq 0 ]
	[ "$(dk volume ls -q | wc -l)" -eq 2 ]
	# -a needs API 1.42 in the docker CLI; the filter it sends is all=true.
	run env DOCKER_API_VERSION=1.42 DOCKER_HOST="unix://$W/shoal.sock" docker volume prune -a -f --filter label=from=docker
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Volumes:"*dvol* ]]
	run dk volume rm dplain nosuch
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = dplain ]
	[[ "$output" == *"get nosuch: no such volume"* ]]
	[ -z "$(shoal volume ls -q)" ]
	[ -z "$(ls -A "$W/data/volumes")" ]
}
