#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kv_containers.bats - containers on an overlay network in cluster-store
# (etcd) mode: two hosts from tools/hosts.sh and a real etcd, as in
# kv.bats; `shoal run --network ov` on each host, no peer programmed by
# hand: the addresses are allocated in the store and each container's
# endpoint reaches the other host's map through the watch.

load kv_helpers
load container_helpers

IMAGE=shoal/busybox

setup_file() {
	export CTR_IMG="$BATS_FILE_TMPDIR/img.tar"
	"$ROOT/tools/mkimage.sh" -o "$CTR_IMG" >/dev/null
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	etcd_available || skip "etcd/etcdctl not installed (Debian etcd-server, etcd-client: make deps)"
}

teardown() {
	[ -n "${W:-}" ] || return 0
	local k
	for k in 1 2; do
		"$HOSTS" kill --workdir "$HW" "$k" KILL 3>&- >/dev/null 2>&1 || true
	done
	ctr_kill_all "${HW:-/nonexistent}"
	hosts_teardown
}

ctr_ip() { hs "$1" inspect -f '{{json .NetworkSettings.Networks}}' "$2" | jq -r .ov.IPAddress; }

@test "kv containers: containers on an overlay in etcd mode reach each other with no peer add" {
	kv_up 2
	local k ip_a ip_b
	for k in 1 2; do hs "$k" load -i "$CTR_IMG" >/dev/null; done
	ovl_create 1
	wait_for 5 net_on 2 ov
	hs 1 run -d --name ca --network ov "$IMAGE" sleep 300 >/dev/null
	hs 2 run -d --name cb --network ov "$IMAGE" sleep 300 >/dev/null
	ip_a=$(ctr_ip 1 ca)
	ip_b=$(ctr_ip 2 cb)
	echo "ca $ip_a cb $ip_b"
	[[ "$ip_a" == 10.0.9.* ]] && [[ "$ip_b" == 10.0.9.* ]] && [ "$ip_a" != "$ip_b" ]
	wait_for 5 in_map 2 "$ip_a"
	wait_for 5 in_map 1 "$ip_b"
	run hs 1 exec ca ping -c 3 -i 0.2 -W 2 "$ip_b"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 packets received"* ]]
	run etcdctl_ get --print-value-only "/shoal/v1/endpoints/ov/$ip_a"
	[ "$(echo "$output" | jq -r .Node)" = "$NODE_1" ]
	# removing the container removes its key and the peer on the other host
	hs 1 rm -f ca >/dev/null
	wait_for 5 not_in_map 2 "$ip_a"
	store_lacks "endpoints/ov/$ip_a"
	hs 2 rm -f cb >/dev/null
	wait_for 5 not_in_map 1 "$ip_b"
}
