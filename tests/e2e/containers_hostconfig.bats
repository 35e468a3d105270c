#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# containers_hostconfig.bats - run/create's resource, capability,
# security, ulimit, logging and --cidfile flags: the HostConfig they send
# is the one the docker CLI sends for the same flags, the container gets
# what they ask (ulimits, /dev/shm size, capability sets), and bad values
# are refused with pflag's words and create nothing.

bats_require_minimum_version 1.5.0
load helpers
load container_helpers

setup_file() { ctr_file_setup; }

setup() { ctr_test_setup; }
teardown() { ctr_test_teardown; }

IMAGE=shoal/busybox

FLAGS=(-m 64m --memory-swap 128m --cpus 1.5 -c 512 --pids-limit 100
	--cap-add NET_ADMIN --cap-drop MKNOD --cap-drop CHOWN --security-opt no-new-privileges
	--ulimit nofile=123:456 --ulimit nproc=50 --shm-size 2m --oom-score-adj 100
	--log-driver json-file --log-opt max-size=10m --log-opt max-file=3)

# The HostConfig keys these flags set, as one JSON line.
hc_keys() {
	shoal inspect "$1" | jq -cS '.[0].HostConfig | {Memory, MemorySwap, NanoCpus, CpuShares,
		PidsLimit, CapAdd, CapDrop, SecurityOpt, Ulimits, ShmSize, OomScoreAdj, LogConfig}'
}

@test "create: the HostConfig of resource, capability, ulimit and log flags is the docker CLI's" {
	shoal create --name ours "${FLAGS[@]}" "$IMAGE" true >/dev/null
	dkr create --name theirs "${FLAGS[@]}" "$IMAGE" true >/dev/null
	ours=$(hc_keys ours)
	theirs=$(hc_keys theirs)
	echo "ours:   $ours"
	echo "theirs: $theirs"
	[ "$ours" = "$theirs" ]
	[ "$(echo "$ours" | jq -r .Memory)" -eq 67108864 ]
	[ "$(echo "$ours" | jq -r .NanoCpus)" -eq 1500000000 ]
	[ "$(echo "$ours" | jq -c .Ulimits)" = '[{"Hard":456,"Name":"nofile","Soft":123},{"Hard":50,"Name":"nproc","Soft":50}]' ]
}

@test "run: ulimits, /dev/shm size and capability sets reach the container" {
	run shoal run --rm --ulimit nofile=123:456 "$IMAGE" sh -c 'ulimit -n; ulimit -Hn'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '123\n456')" ]
	run shoal run --rm --shm-size 2m "$IMAGE" sh -c "df -k /dev/shm | awk 'NR==2 {print \$2}'"
	[ "$output" = 2048 ]
	run shoal run --rm --cap-drop ALL "$IMAGE" sh -c 'grep ^CapEff /proc/self/status'
	[[ "$output" == *"0000000000000000" ]]
	# NET_ADMIN is bit 12: not in Docker's default set, there with --cap-add
	run shoal run --rm "$IMAGE" sh -c 'grep ^CapBnd /proc/self/status'
	without=$(echo "$output" | awk '{print $2}')
	run shoal run --rm --cap-add NET_ADMIN "$IMAGE" sh -c 'grep ^CapBnd /proc/self/status'
	with=$(echo "$output" | awk '{print $2}')
	[ $(( (0x$without >> 12) & 1 )) -eq 0 ]
	[ $(( (0x$with >> 12) & 1 )) -eq 1 ]
	# and the capability works: only NET_ADMIN may add an address
	run shoal run --rm "$IMAGE" ip addr add 10.9.9.9/32 dev lo
	[ "$status" -ne 0 ]
	run shoal run --rm --cap-add NET_ADMIN "$IMAGE" ip addr add 10.9.9.9/32 dev lo
	[ "$status" -eq 0 ]
	run shoal run --rm --cap-add NOT_A_CAP "$IMAGE" true
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown capability: "CAP_NOT_A_CAP"'* ]]
}

@test "--cidfile: the id is written; an existing file refuses the run before anything is made" {
	run shoal run -d --cidfile "$W/cid" --name c1 "$IMAGE" sleep 300
	[ "$status" -eq 0 ]
	[ "$(cat "$W/cid")" = "$output" ]
	[ "$(shoal inspect -f '{{.Id}}' c1)" = "$(cat "$W/cid")" ]
	run shoal run -d --cidfile "$W/cid" --name c2 "$IMAGE" sleep 300
	[ "$status" -eq 125 ]
	[[ "$output" == *"Container ID file found, make sure the other container isn't running or delete $W/cid"* ]]
	run shoal ps -a --format '{{.Names}}'
	[ "$output" = c1 ]
	# a failed create leaves no file behind
	run shoal create --cidfile "$W/cid2" --pull never no/such-image
	[ "$status" -ne 0 ]
	[ ! -e "$W/cid2" ]
	run shoal create --cidfile "$W/cid3" "$IMAGE" true
	[ "$status" -eq 0 ]
	[ "$(cat "$W/cid3")" = "$output" ]
}

@test "bad values: pflag's words, exit 125, nothing created" {
	run shoal run -m lots "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "lots" for "-m, --memory" flag: invalid size: '"'lots'"* ]]
	run shoal run --cpus one "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "one" for "--cpus" flag: failed to parse one as a rational number'* ]]
	run shoal run --ulimit nofile "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'* ]]
	run shoal run --ulimit nofile=10:5 "$IMAGE" true
	[ "$status" -eq 125 ]
	run shoal run --pids-limit many "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "many" for "--pids-limit" flag: strconv.ParseInt: parsing "many": invalid syntax'* ]]
	run shoal run --oom-score-adj 5000 "$IMAGE" true
	[ "$status" -eq 125 ]
	run shoal run --log-opt novalue "$IMAGE" true
	[ "$status" -eq 125 ]
	run shoal run --log-driver syslog "$IMAGE" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'logging driver "syslog" is not supported'* ]]
	[ "$(shoal ps -aq | wc -l)" -eq 0 ]
}
