#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# prune.bats - `shoal container|network|image|system prune` and the
# /{containers,networks,images}/prune API against a real shoald: what is
# removed and what is kept (running containers, networks a container
# names, images a container uses, the default network), the filters
# (label, label!, until, dangling), Docker's prompts and output, refused
# filters changing nothing, and the unmodified docker CLI driving it.

bats_require_minimum_version 1.5.0
load helpers
load container_helpers
load image_helpers

setup_file() { ctr_file_setup; }

setup() { ctr_test_setup; }
teardown() { ctr_test_teardown; }

IMAGE=shoal/busybox

# An image of its own (one file) imported untagged, or as REF: its id.
import_img() {
	mkdir -p "$W/imp"
	echo "$RANDOM$RANDOM" > "$W/imp/f"
	tar -C "$W/imp" -cf "$W/imp.tar" f
	shoal import "$W/imp.tar" "$@" | tail -n 1
}

@test "container prune: stopped containers go, running ones stay; label filters; reclaimed space" {
	shoal run --name done1 "$IMAGE" sh -c 'dd if=/dev/zero of=/big bs=1024 count=2048 2>/dev/null'
	shoal create --name made --label keep=yes "$IMAGE" true >/dev/null
	shoal run -d --name live "$IMAGE" sleep 300 >/dev/null
	id1=$(shoal inspect -f '{{.Id}}' done1)
	# answering no changes nothing
	run sh -c "echo n | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' container prune"
	[ "$status" -eq 0 ]
	[[ "$output" == "WARNING! This will remove all stopped containers."* ]]
	[ "$(shoal ps -aq | wc -l)" -eq 3 ]
	# label! keeps the labelled one
	run shoal container prune -f --filter label!=keep
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Containers:" ]
	[ "${lines[1]}" = "$id1" ]
	[[ "${lines[2]}" == "Total reclaimed space: "* ]]
	run shoal ps -a --format '{{.Names}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "live made " ]
	# the API's SpaceReclaimed counts the writable layer (2 MiB written)
	shoal run --name done2 "$IMAGE" sh -c 'dd if=/dev/zero of=/big bs=1024 count=2048 2>/dev/null'
	run api POST '/containers/prune?filters=%7B%22label%22%3A%5B%22keep%3Dyes%22%5D%7D'
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(echo "${lines[0]}" | jq -r '.ContainersDeleted | length')" -eq 1 ]
	run api POST /containers/prune
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(echo "${lines[0]}" | jq -r '.ContainersDeleted | length')" -eq 1 ]
	[ "$(echo "${lines[0]}" | jq -r '.SpaceReclaimed')" -ge 2097152 ]
	run shoal ps -a --format '{{.Names}}'
	[ "$output" = live ]
	[ "$(shoal inspect -f '{{.State.Status}}' live)" = running ]
	run shoal ps -aq
	[ "$(sqlite3 "$W/data/shoal.db" 'SELECT count(*) FROM containers')" -eq 1 ]
}

@test "container prune: until keeps newer containers; a bad filter is refused and removes nothing" {
	shoal create --name old "$IMAGE" true >/dev/null
	run shoal container prune -f --filter until=1h
	[ "$status" -eq 0 ]
	[ "$output" = "Total reclaimed space: 0B" ]
	run shoal container prune -f --filter until=yesterday-ish
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid filter 'until=yesterday-ish'"* ]]
	run shoal container prune -f --filter colour=red
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid filter 'colour'"* ]]
	[ "$(shoal ps -aq | wc -l)" -eq 1 ]
	# a date in the future takes it
	run shoal container prune -f --filter "until=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Containers:" ]
	[ "$(shoal ps -aq | wc -l)" -eq 0 ]
}

@test "network prune: only networks no container names and no endpoint uses; never the default" {
	shoal run --rm "$IMAGE" true    # makes the default network
	shoal network create --subnet 10.61.1.0/24 unused >/dev/null
	shoal network create --subnet 10.61.2.0/24 --label env=test tagged >/dev/null
	shoal network create --subnet 10.61.3.0/24 runnet >/dev/null
	shoal network create --subnet 10.61.4.0/24 stopnet >/dev/null
	shoal network create --subnet 10.61.5.0/24 nsnet >/dev/null
	shoal run -d --name rr --network runnet "$IMAGE" sleep 300 >/dev/null
	shoal create --name ss --network stopnet "$IMAGE" true >/dev/null
	netns_add "$P-ns"
	shoal network connect nsnet --netns "$P-ns" >/dev/null
	nets_before=$(map_count networks)

	run sh -c "echo n | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' network prune"
	[ "$status" -eq 0 ]
	[[ "$output" == "WARNING! This will remove all custom networks not used by at least one container."* ]]
	[ "$(shoal network ls -q | wc -l)" -eq 6 ]

	run shoal network prune -f --filter label=env=test
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Networks:" ]
	[ "${lines[1]}" = tagged ]
	[ "${#lines[@]}" -eq 2 ]
	run shoal network prune -f --filter until=1h
	[ "$output" = "" ]
	run shoal network prune -f
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'Deleted Networks:\nunused')" ]
	run shoal network ls --format '{{.Name}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "nsnet runnet shoal0 stopnet " ]
	[ "$(map_count networks)" -eq $((nets_before - 2)) ]
	# the stopped container still starts on its network
	shoal start ss
	[ "$(shoal wait ss)" = 0 ]
	# once nothing uses them, they go
	shoal rm -f rr ss >/dev/null
	shoal network disconnect nsnet --netns "$P-ns"
	run shoal network prune -f
	[ "$(echo "$output" | tail -n +2 | sort | tr '\n' ' ')" = "nsnet runnet stopnet " ]
	[ "$(shoal network ls -q | wc -l)" -eq 1 ]
}

@test "image prune: dangling images by default, unused ones with -a, never one a container uses" {
	dangling=$(import_img)
	tagged=$(import_img imp/tagged:1)
	[ "$(shoal images -q | wc -l)" -eq 3 ]
	run sh -c "echo n | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' image prune"
	[[ "$output" == "WARNING! This will remove all dangling images."* ]]
	[ "$(shoal images -q | wc -l)" -eq 3 ]

	run shoal image prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Images:" ]
	[[ "${lines[1]}" == "deleted: $dangling" ]]
	[[ "$output" == *"Total reclaimed space: "* ]]
	[[ "$output" != *"Total reclaimed space: 0B"* ]]
	run shoal images --format '{{.Repository}}:{{.Tag}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "imp/tagged:1 shoal/busybox:latest " ]

	# -a: every image no container uses (a stopped one counts as a user)
	shoal create --name user "$IMAGE" true >/dev/null
	run shoal image prune -a -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"untagged: imp/tagged:1"* ]]
	[[ "$output" == *"deleted: $tagged"* ]]
	[[ "$output" != *"busybox"* ]]
	run shoal images --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "shoal/busybox:latest" ]
	run shoal image prune -f --filter dangling=maybe
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid filter 'dangling=[maybe]'"* ]]
	shoal rm user >/dev/null
	run shoal image prune -a -f
	[[ "$output" == *"untagged: shoal/busybox:latest"* ]]
	[ "$(shoal images -q | wc -l)" -eq 0 ]
	[ "$(layer_dirs)" -eq 0 ]
}

@test "system prune: containers, networks, anonymous volumes with --volumes, dangling images, one total" {
	shoal network create --subnet 10.62.0.0/24 gone >/dev/null
	shoal create --name c1 -v /data -v keepme:/named "$IMAGE" true >/dev/null
	dangling=$(import_img)
	shoal run -d --name live "$IMAGE" sleep 300 >/dev/null
	anon=$(shoal volume ls -q | grep -v keepme)
	run sh -c "echo n | '$SHOAL_BIN' -H 'unix://$W/shoal.sock' system prune --volumes"
	[ "${lines[0]}" = "WARNING! This will remove:" ]
	[ "${lines[1]}" = "  - all stopped containers" ]
	[ "${lines[2]}" = "  - all networks not used by at least one container" ]
	[ "${lines[3]}" = "  - all anonymous volumes not used by at least one container" ]
	[ "${lines[4]}" = "  - all dangling images" ]
	[ "$(shoal ps -aq | wc -l)" -eq 2 ]

	run shoal system prune -f --volumes
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^Deleted ')" -eq 4 ]
	[[ "$output" == *"Deleted Containers:"*"Deleted Networks:"*"gone"*"Deleted Volumes:"*"$anon"*"Deleted Images:"*"deleted: $dangling"* ]]
	[ "$(echo "$output" | grep -c '^Total reclaimed space: ')" -eq 1 ]
	[ "$(shoal ps -a --format '{{.Names}}')" = live ]
	[ "$(shoal volume ls -q)" = keepme ]
	[ "$(shoal network ls --format '{{.Name}}')" = shoal0 ]
	[ "$(shoal images --format '{{.Repository}}')" = shoal/busybox ]
	run shoal system info
	[[ "$output" == *"Storage Driver: "* ]]
}

@test "docker CLI against shoald: container, network, image and system prune" {
	shoal create --name c1 "$IMAGE" true >/dev/null
	shoal network create --subnet 10.63.0.0/24 n1 >/dev/null
	dangling=$(import_img)
	run dkr container prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Containers:"* ]]
	[ "$(shoal ps -aq | wc -l)" -eq 0 ]
	run dkr network prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"n1"* ]]
	run dkr image prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"deleted: $dangling"* ]]
	shoal create --name c2 "$IMAGE" true >/dev/null
	run dkr system prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Containers:"* ]]
	[[ "$output" == *"Total reclaimed space:"* ]]
	[ "$(shoal ps -aq | wc -l)" -eq 0 ]
}
