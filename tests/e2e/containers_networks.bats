#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers on several networks: `network connect NET CONTAINER` and
# `network disconnect NET CONTAINER` (Docker's behaviour) through the
# shoal CLI, the API and the real docker CLI. A running container gets
# eth1, eth2... at once (real veths, BPF map entries, endpoint rows), a
# stopped one at its next start; disconnect, stop, rm -f, --rm and a
# shoald killed with -9 leave nothing behind; Docker's errors.

bats_require_minimum_version 1.5.0
load helpers
load container_helpers

setup() {
	[[ "$BATS_TEST_DESCRIPTION" == "multi-host"* ]] && return 0
	e2e_setup
	start_shoald
	load_test_image
}

teardown() {
	if [[ "$BATS_TEST_DESCRIPTION" == "multi-host"* ]]; then
		mh_teardown
		return 0
	fi
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "${W:-/nonexistent}/shoald.log" ]; then
		tail -n 30 "$W/shoald.log" | sed 's/^/# shoald: /' >&3
	fi
	e2e_teardown
}

IMAGE=shoal/busybox

# Two networks, a container on each (a1 = 10.61.0.10 on neta, b1 =
# 10.62.0.10 on netb) and mx on neta only.
two_nets() {
	shoal network create --subnet 10.61.0.0/24 neta >/dev/null
	shoal network create --subnet 10.62.0.0/24 netb >/dev/null
	shoal run -d --name a1 --network neta --ip 10.61.0.10 "$IMAGE" sleep 300 >/dev/null
	shoal run -d --name b1 --network netb --ip 10.62.0.10 "$IMAGE" sleep 300 >/dev/null
	shoal run -d --name mx --network neta "$IMAGE" sleep 300 >/dev/null
}

# ep_rows: endpoint rows of containers in the state database.
ep_rows() {
	sqlite3 "$W/data/shoal.db" "SELECT count(*) FROM endpoints WHERE container_id != ''"
}

# What the endpoints leave on the machine: rows, host veths, map entries.
ep_state() {
	echo "rows=$(ep_rows) veths=$(host_veths | wc -l) eps=$(map_count endpoints)" \
		"ifaces=$(map_count ifaces) stats=$(map_count ep_stats)"
}

ep_state_is() { [ "$(ep_state)" = "$1" ]; }

# nets REF: the network names in the container's inspect, sorted.
nets() {
	shoal inspect -f '{{json .NetworkSettings.Networks}}' "$1" | jq -r 'keys | join(" ")'
}

# net_field REF NET FIELD
net_field() {
	shoal inspect -f '{{json .NetworkSettings.Networks}}' "$1" | jq -r --arg n "$2" ".[\$n].$3"
}

@test "running container: connect gives eth1 on the second network, both reachable; disconnect removes it all" {
	two_nets
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
	run shoal network connect netb mx
	[ "$status" -eq 0 ]
	wait_for ep_state_is "rows=4 veths=4 eps=4 ifaces=4 stats=4"
	[ "$(ep_state)" = "rows=4 veths=4 eps=4 ifaces=4 stats=4" ]
	run shoal exec mx ip -4 addr show dev eth1
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.62.0."*"/24"* ]]
	ip2=$(net_field mx netb IPAddress)
	[[ "$ip2" == 10.62.0.* ]]
	# eth0 keeps the default route (the first network's gateway)
	run shoal exec mx ip route
	[[ "$output" == *"default via 10.61.0.1 dev eth0"* ]]
	[[ "$output" != *"default via 10.62.0.1"* ]]
	[[ "$output" == *"10.62.0.0/24 dev eth1"* ]]
	# both networks reachable, both ways
	run shoal exec mx ping -c 2 -i 0.2 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 packets received"* ]]
	run shoal exec mx ping -c 2 -i 0.2 -W 2 10.61.0.10
	[ "$status" -eq 0 ]
	run shoal exec b1 ping -c 2 -i 0.2 -W 2 "$ip2"
	[ "$status" -eq 0 ]
	# inspect: both networks with Docker's fields
	[ "$(nets mx)" = "neta netb" ]
	[ "$(net_field mx netb NetworkID)" = "$(shoal network inspect netb | jq -r '.[0].Id')" ]
	[ "$(net_field mx netb Gateway)" = 10.62.0.1 ]
	[ "$(net_field mx netb IPPrefixLen)" = 24 ]
	[[ "$(net_field mx netb MacAddress)" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]]
	[[ "$(net_field mx netb EndpointID)" =~ ^[0-9a-f]{64}$ ]]
	[ "$(net_field mx netb EndpointID)" != "$(net_field mx neta EndpointID)" ]
	[ "$(shoal inspect -f '{{.NetworkSettings.IPAddress}}' mx)" = "$(net_field mx neta IPAddress)" ]
	# the network lists it; ps --filter network matches either network
	[ "$(shoal network inspect netb | jq -r '.[0].Containers[] | select(.Name == "mx") | .IPv4Address')" = "$ip2/24" ]
	[ "$(shoal ps --filter network=netb --format '{{.Names}}' | sort | tr '\n' ' ')" = "b1 mx " ]
	[ "$(shoal ps --filter network=neta --format '{{.Names}}' | sort | tr '\n' ' ')" = "a1 mx " ]

	run shoal network disconnect netb mx
	[ "$status" -eq 0 ]
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
	run shoal exec mx ip link show dev eth1
	[ "$status" -ne 0 ]
	[ "$(nets mx)" = neta ]
	[ "$(shoal network inspect netb | jq '[.[0].Containers[] | select(.Name == "mx")] | length')" -eq 0 ]
	# its address on netb is gone: b1 no longer reaches it, and its
	# own route into netb's subnet went with eth1
	run shoal exec b1 ping -c 1 -W 1 "$ip2"
	[ "$status" -ne 0 ]
	run shoal exec mx ip route
	[[ "$output" != *"10.62.0.0/24"* ]]
	run shoal exec mx ping -c 1 -W 2 10.61.0.10
	[ "$status" -eq 0 ]
	# and it can come back
	shoal network connect netb mx
	run shoal exec mx ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
}

@test "networks are isolated from each other (Docker's isolation): only a container on both reaches both" {
	two_nets
	# a1 (neta) and b1 (netb): the packet is routed out of a1's subnet
	# into netb's and dropped at a1's veth, counted and named
	run shoal exec a1 ping -c 1 -W 1 10.62.0.10
	[ "$status" -ne 0 ]
	run shoal exec b1 ping -c 1 -W 1 10.61.0.10
	[ "$status" -ne 0 ]
	api GET /metrics | grep '^shoal_container_drops_total{container="a1",' |
		grep -q 'reason="net_isolated"} [1-9]'
	# the host stays reachable through the other network's gateway
	run shoal exec a1 ping -c 1 -W 2 10.62.0.1
	[ "$status" -eq 0 ]
	# connected to both, mx reaches both; disconnected, netb is closed again
	shoal network connect netb mx
	run shoal exec mx ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	shoal network disconnect netb mx
	run shoal exec mx ping -c 1 -W 1 10.62.0.10
	[ "$status" -ne 0 ]
	# a removed network's range is no longer refused (nothing left in the trie)
	shoal rm -f b1 >/dev/null
	subnets=$(bpftool -j map dump pinned "$W/bpffs/shoal/$NODE/subnets" | jq length)
	shoal network rm netb >/dev/null
	[ "$(bpftool -j map dump pinned "$W/bpffs/shoal/$NODE/subnets" | jq length)" -eq $((subnets - 1)) ]
}

@test "--ip on connect is honoured; an address in use is refused and nothing is half-made" {
	two_nets
	shoal network connect --ip 10.62.0.50 netb mx
	[ "$(net_field mx netb IPAddress)" = 10.62.0.50 ]
	run shoal exec mx ip -4 addr show dev eth1
	[[ "$output" == *"inet 10.62.0.50/24"* ]]
	run shoal exec b1 ping -c 1 -W 2 10.62.0.50
	[ "$status" -eq 0 ]
	before=$(ep_state)
	run shoal network connect --ip 10.62.0.50 netb a1
	[ "$status" -ne 0 ]
	[[ "$output" == *"10.62.0.50"* ]]
	[ "$(ep_state)" = "$before" ]
	[ "$(nets a1)" = neta ]
	run shoal exec a1 ip link show dev eth1
	[ "$status" -ne 0 ]
	# outside the subnet
	run shoal network connect --ip 10.99.0.5 netb a1
	[ "$status" -ne 0 ]
	[ "$(ep_state)" = "$before" ]
	[ "$(nets a1)" = neta ]
	# not an address at all: 400
	run api POST /networks/netb/connect '{"Container": "a1", "EndpointConfig": {"IPAMConfig": {"IPv4Address": "10.62.0.300"}}}'
	[ "${lines[-1]}" = "HTTP 400" ]
	[ "$(ep_state)" = "$before" ]
}

@test "stopped container: connect is recorded and applied at start; disconnect while stopped drops the record" {
	shoal network create --subnet 10.61.0.0/24 neta >/dev/null
	shoal network create --subnet 10.62.0.0/24 netb >/dev/null
	shoal run -d --name b1 --network netb --ip 10.62.0.10 "$IMAGE" sleep 300 >/dev/null
	shoal create --name sx --network neta "$IMAGE" sleep 300 >/dev/null
	before=$(ep_state)
	run shoal network connect --ip 10.62.0.20 netb sx
	[ "$status" -eq 0 ]
	[ "$(ep_state)" = "$before" ]
	[ "$(nets sx)" = "neta netb" ]
	[ "$(net_field sx netb IPAddress)" = "" ]
	[ "$(net_field sx netb IPAMConfig.IPv4Address)" = 10.62.0.20 ]
	shoal start sx
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
	run shoal exec sx ip -4 addr show dev eth0
	[[ "$output" == *"inet 10.61.0."* ]]
	run shoal exec sx ip -4 addr show dev eth1
	[[ "$output" == *"inet 10.62.0.20/24"* ]]
	run shoal exec sx ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	[ "$(net_field sx netb IPAddress)" = 10.62.0.20 ]
	# stop releases both endpoints; start brings both back
	shoal stop -t 1 sx >/dev/null
	wait_for ep_state_is "rows=1 veths=1 eps=1 ifaces=1 stats=1"
	[ "$(ep_state)" = "rows=1 veths=1 eps=1 ifaces=1 stats=1" ]
	shoal start sx
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
	run shoal exec sx ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	shoal restart -t 1 sx >/dev/null
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
	run shoal exec sx ip -4 addr show dev eth1
	[[ "$output" == *"inet 10.62.0.20/24"* ]]
	# disconnect while stopped: just the record
	shoal stop -t 1 sx >/dev/null
	run shoal network disconnect netb sx
	[ "$status" -eq 0 ]
	[ "$(nets sx)" = neta ]
	wait_for ep_state_is "rows=1 veths=1 eps=1 ifaces=1 stats=1"
	[ "$(ep_state)" = "rows=1 veths=1 eps=1 ifaces=1 stats=1" ]
	shoal start sx
	wait_for ep_state_is "rows=2 veths=2 eps=2 ifaces=2 stats=2"
	[ "$(ep_state)" = "rows=2 veths=2 eps=2 ifaces=2 stats=2" ]
	run shoal exec sx ip link show dev eth1
	[ "$status" -ne 0 ]
	# a recorded network removed meanwhile: only -f drops the record
	shoal stop -t 1 sx >/dev/null
	shoal network create --subnet 10.63.0.0/24 netc >/dev/null
	shoal network connect netc sx
	shoal network rm netc >/dev/null
	run shoal network disconnect netc sx
	[ "$status" -ne 0 ]
	[[ "$output" == *"network netc not found"* ]]
	[ "$(nets sx)" = "neta netc" ]
	shoal network disconnect -f netc sx
	[ "$(nets sx)" = neta ]
}

@test "errors: unknown container or network, already connected, not connected, host and none mode: Docker's words, nothing changed" {
	two_nets
	shoal run -d --name hx --network host "$IMAGE" sleep 300 >/dev/null
	shoal run -d --name nx --network none "$IMAGE" sleep 300 >/dev/null
	before=$(ep_state)
	run shoal network connect netb nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such container: nope"* ]]
	run api POST /networks/netb/connect '{"Container": "nope"}'
	[ "${lines[-1]}" = "HTTP 404" ]
	run shoal network connect nonet mx
	[ "$status" -ne 0 ]
	[[ "$output" == *"network nonet not found"* ]]
	run api POST /networks/nonet/disconnect '{"Container": "mx"}'
	[ "${lines[-1]}" = "HTTP 404" ]
	run shoal network connect neta mx
	[ "$status" -ne 0 ]
	[[ "$output" == *"endpoint with name mx already exists in network neta"* ]]
	run api POST /networks/neta/connect '{"Container": "mx"}'
	[ "${lines[-1]}" = "HTTP 403" ]
	run shoal network disconnect netb mx
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not connected to network netb"* ]]
	run api POST /networks/netb/disconnect '{"Container": "mx"}'
	[ "${lines[-1]}" = "HTTP 409" ]
	run shoal network connect netb hx
	[ "$status" -ne 0 ]
	[[ "$output" == *"container cannot be disconnected from host network or connected to host network"* ]]
	run shoal network disconnect netb hx
	[ "$status" -ne 0 ]
	[[ "$output" == *"host network"* ]]
	run api POST /networks/netb/connect '{"Container": "hx"}'
	[ "${lines[-1]}" = "HTTP 400" ]
	run shoal network connect netb nx
	[ "$status" -ne 0 ]
	[[ "$output" == *"private (none) mode"* ]]
	run shoal network connect host mx
	[ "$status" -ne 0 ]
	[[ "$output" == *"host network"* ]]
	[ "$(ep_state)" = "$before" ]
	[ "$(nets mx)" = neta ]
	[ "$(nets hx)" = host ]
	[ "$(nets nx)" = none ]
	run shoal exec nx ip link show dev eth0
	[ "$status" -ne 0 ]
}

@test "kill -9 of shoald under a container on two networks: both endpoints work after restart; disconnect and rm -f leave nothing" {
	two_nets
	shoal network connect netb mx
	pid=$(shoal inspect -f '{{.State.Pid}}' mx)
	stop_shoald 9
	kill -0 "$pid"
	start_shoald
	[ "$(shoal inspect -f '{{.State.Pid}}' mx)" = "$pid" ]
	wait_for ep_state_is "rows=4 veths=4 eps=4 ifaces=4 stats=4"
	[ "$(ep_state)" = "rows=4 veths=4 eps=4 ifaces=4 stats=4" ]
	[ "$(nets mx)" = "neta netb" ]
	run shoal exec mx ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	run shoal exec mx ping -c 1 -W 2 10.61.0.10
	[ "$status" -eq 0 ]
	run shoal network disconnect netb mx
	[ "$status" -eq 0 ]
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
	shoal network connect netb mx
	wait_for ep_state_is "rows=4 veths=4 eps=4 ifaces=4 stats=4"
	[ "$(ep_state)" = "rows=4 veths=4 eps=4 ifaces=4 stats=4" ]
	shoal rm -f mx >/dev/null
	wait_for ep_state_is "rows=2 veths=2 eps=2 ifaces=2 stats=2"
	[ "$(ep_state)" = "rows=2 veths=2 eps=2 ifaces=2 stats=2" ]
	# --rm: a container on two networks that exits leaves nothing
	shoal run -d --rm --name rx --network neta "$IMAGE" sleep 2 >/dev/null
	shoal network connect netb rx
	wait_for ep_state_is "rows=4 veths=4 eps=4 ifaces=4 stats=4"
	[ "$(ep_state)" = "rows=4 veths=4 eps=4 ifaces=4 stats=4" ]
	wait_for bash -c "! '$SHOAL_BIN' -H 'unix://$W/shoal.sock' inspect rx >/dev/null 2>&1"
	wait_for ep_state_is "rows=2 veths=2 eps=2 ifaces=2 stats=2"
	[ "$(ep_state)" = "rows=2 veths=2 eps=2 ifaces=2 stats=2" ]
	shoal rm -f a1 b1 >/dev/null
	# the veths go with the containers' namespaces, a moment later
	wait_for ep_state_is "rows=0 veths=0 eps=0 ifaces=0 stats=0"
	[ "$(ep_state)" = "rows=0 veths=0 eps=0 ifaces=0 stats=0" ]
	wait_for bash -c "[ \"\$(find '$W/exec/netns' -mindepth 1 | wc -l)\" -eq 0 ]"
	[ "$(leftovers)" = "rows=0 eps=0 dirs=0 bundles=0 netns=0 mounts=0 veths=0 maps=0" ]
}

@test "published ports stay on the first network; disconnecting that network releases them" {
	two_nets
	shoal run -d --name pp --network neta -p 18080:80 "$IMAGE" sleep 300 >/dev/null
	[ "$(map_count ports)" -ge 1 ]
	ports=$(map_count ports)
	shoal network connect netb pp
	[ "$(map_count ports)" -eq "$ports" ]
	[ "$(shoal port pp 80)" = "0.0.0.0:18080" ]
	shoal network disconnect netb pp
	[ "$(map_count ports)" -eq "$ports" ]
	shoal network connect netb pp
	shoal network disconnect neta pp
	[ "$(map_count ports)" -eq 0 ]
	run shoal port pp 80
	[ "$output" != "0.0.0.0:18080" ]
	[ "$(nets pp)" = netb ]
	run shoal exec pp ip link show dev eth0
	[ "$status" -ne 0 ]
	run shoal exec pp ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	shoal rm -f pp >/dev/null
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
}

@test "the docker CLI: network connect / disconnect of a container, inspect" {
	two_nets
	run dkr network connect --ip 10.62.0.33 netb mx
	[ "$status" -eq 0 ]
	run dkr inspect -f '{{(index .NetworkSettings.Networks "netb").IPAddress}}' mx
	[ "$output" = 10.62.0.33 ]
	run shoal exec mx ping -c 1 -W 2 10.62.0.10
	[ "$status" -eq 0 ]
	run dkr network connect netb mx
	[ "$status" -ne 0 ]
	[[ "$output" == *"endpoint with name mx already exists in network netb"* ]]
	run dkr network disconnect netb mx
	[ "$status" -eq 0 ]
	[ "$(nets mx)" = neta ]
	run dkr network disconnect netb mx
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not connected to network netb"* ]]
	wait_for ep_state_is "rows=3 veths=3 eps=3 ifaces=3 stats=3"
	[ "$(ep_state)" = "rows=3 veths=3 eps=3 ifaces=3 stats=3" ]
}

@test "create with several EndpointsConfig entries (API 1.44): every network at start" {
	shoal network create --subnet 10.61.0.0/24 neta >/dev/null
	shoal network create --subnet 10.62.0.0/24 netb >/dev/null
	id=$(ctr_create multi '{"Image": "shoal/busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "neta"}, "NetworkingConfig": {"EndpointsConfig": {"neta": {}, "netb": {"IPAMConfig": {"IPv4Address": "10.62.0.7"}}}}}')
	[ "$(nets multi)" = "neta netb" ]
	api POST "/containers/$id/start" | tail -1 | grep -q 'HTTP 204'
	run shoal exec multi ip -4 addr show dev eth1
	[[ "$output" == *"inet 10.62.0.7/24"* ]]
	run shoal exec multi ip -4 addr show dev eth0
	[[ "$output" == *"inet 10.61.0."* ]]
	# an unknown network among them: refused, nothing made
	run api POST /containers/create?name=bad '{"Image": "shoal/busybox", "HostConfig": {"NetworkMode": "neta"}, "NetworkingConfig": {"EndpointsConfig": {"neta": {}, "nonet": {}}}}'
	[[ "${lines[-1]}" == "HTTP 4"* ]]
	[[ "$output" == *"network nonet not found"* ]]
	run shoal inspect bad
	[ "$status" -ne 0 ]
}

# ---- multi-host: a container on a local network connected to an overlay -----------

mh_teardown() {
	[ -n "${W:-}" ] || return 0
	local k f
	for k in 1 2; do
		"$HOSTS" kill --workdir "$HW" "$k" KILL 3>&- >/dev/null 2>&1 || true
	done
	for f in "$HW"/*/exec/containers/*/shim.pid "$HW"/*/exec/containers/*/init.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	awk -v w="$HW/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo |
		grep -v '/bpffs$' | sort -r | while read -r f; do
		umount -l "$f" 2>/dev/null || true
	done
	hosts_teardown
}

@test "multi-host: run --network NET, then connect to an overlay: reaches a container on the other host" {
	load hosts_helpers
	[ -x /bin/busybox ] || skip "busybox-static not installed (make deps)"
	hosts_setup 2
	mkimage "$W/img.tar" >/dev/null
	for k in 1 2; do
		hs $k load -i "$W/img.tar" >/dev/null
		ovl_create $k
	done
	hs 1 network create --subnet 10.61.0.0/24 loc >/dev/null
	hs 1 run -d --name ca --network loc "$IMAGE" sleep 300 >/dev/null
	hs 2 run -d --name cb --network ov --ip 10.0.9.3 "$IMAGE" sleep 300 >/dev/null
	hs 1 network connect --ip 10.0.9.2 ov ca
	run hs 1 exec ca ip -o link show dev eth1
	[[ "$output" == *"mtu 1450"* ]]
	mac_a=$(hs 1 inspect -f '{{json .NetworkSettings.Networks}}' ca | jq -r .ov.MacAddress)
	mac_b=$(hs 2 inspect -f '{{json .NetworkSettings.Networks}}' cb | jq -r .ov.MacAddress)
	peer_add 1 ov 10.0.9.3 "$mac_b" "$UNDERLAY_IP_2" >/dev/null
	peer_add 2 ov 10.0.9.2 "$mac_a" "$UNDERLAY_IP_1" >/dev/null
	run hs 1 exec ca ping -c 2 -i 0.2 -W 2 10.0.9.3
	[ "$status" -eq 0 ]
	run hs 2 exec cb ping -c 2 -i 0.2 -W 2 10.0.9.2
	[ "$status" -eq 0 ]
	# local endpoint on loc and ov, plus the remote peer
	[ "$(map_count 1 endpoints)" -eq 3 ]
	hs 1 network disconnect ov ca
	[ "$(map_count 1 endpoints)" -eq 2 ]
	run hs 1 exec ca ip link show dev eth1
	[ "$status" -ne 0 ]
	hs 1 rm -f ca >/dev/null
	hs 2 rm -f cb >/dev/null
	[ "$(map_count 1 endpoints)" -eq 1 ]
}
