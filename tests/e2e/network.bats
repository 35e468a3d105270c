#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Single-host networking end to end: shoald in its own namespace, real
# veths, real BPF programs, real pings, counters read back through the CLI.

load helpers

setup() {
	e2e_setup
	start_shoald
}

teardown() {
	e2e_teardown
}

# Three endpoint namespaces on network net1 (10.88.0.0/24).
three_endpoints() {
	shoal network create --subnet 10.88.0.0/24 net1 >/dev/null
	for c in c1 c2 c3; do
		endpoint_ns "$P-$c"
		shoal network connect net1 --netns "$P-$c"
		steady_neigh "$P-$c"
	done
}

@test "version, info and _ping answer like Docker's API" {
	run shoal version
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$W/shoal.sock")" = 660 ]
	[[ "$output" == *"Server:"* ]]
	[[ "$output" == *"1.41"* ]]
	run api GET /_ping
	[[ "$output" == "OK"* ]]
	run curl -s -D - -o /dev/null --unix-socket "$W/shoal.sock" http://localhost/_ping
	[[ "$output" == *"Api-Version: 1.41"* ]]
	run api GET /v1.41/info
	[[ "$output" == *"\"Name\":\"$NODE\""* ]]
	[[ "$output" == *"HTTP 200"* ]]
}

@test "network create, ls, inspect, rm" {
	run shoal network create --subnet 10.88.0.0/24 --gateway 10.88.0.254 --label env=test net1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	id=$output
	run shoal network ls
	[[ "$output" == *"NETWORK ID"* ]]
	[[ "$output" == *"${id:0:12}"*"net1"*"local"* ]]
	run shoal network ls -q --filter label=env=test
	[ "$output" = "${id:0:12}" ]
	run shoal network inspect net1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].IPAM.Config[0].Subnet')" = "10.88.0.0/24" ]
	[ "$(echo "$output" | jq -r '.[0].IPAM.Config[0].Gateway')" = "10.88.0.254" ]
	[ "$(echo "$output" | jq -r '.[0].Labels.env')" = "test" ]
	[ "$(echo "$output" | jq -r '.[0].Id')" = "$id" ]
	# the gateway lives on the host device
	in_host ip -4 addr show dev shoal0 | grep -q '10.88.0.254/24'
	[ "$(map_count networks)" -eq 1 ]
	run shoal network rm net1
	[ "$status" -eq 0 ]
	[ "$output" = "net1" ]
	run shoal network ls -q
	[ -z "$output" ]
	[ "$(map_count networks)" -eq 0 ]
	! in_host ip -4 addr show dev shoal0 | grep -q '10.88.0.254' || false
}

@test "a network without --subnet gets a default pool and no two overlap" {
	shoal network create a >/dev/null
	shoal network create b >/dev/null
	sa=$(shoal network inspect a | jq -r '.[0].IPAM.Config[0].Subnet')
	sb=$(shoal network inspect b | jq -r '.[0].IPAM.Config[0].Subnet')
	[ "$sa" = "172.17.0.0/16" ]
	[ "$sb" = "172.18.0.0/16" ]
	[ "$(shoal network inspect a | jq -r '.[0].IPAM.Config[0].Gateway')" = "172.17.0.1" ]
}

@test "three namespaces: addresses, MTU, ping all pairs" {
	three_endpoints
	[ "$(ip_of net1 "$P-c1")" = "10.88.0.2" ]
	[ "$(ip_of net1 "$P-c2")" = "10.88.0.3" ]
	[ "$(ip_of net1 "$P-c3")" = "10.88.0.4" ]
	ip -n "$P-c1" -4 addr show dev eth0 | grep -q 'inet 10.88.0.2/24'
	ip -n "$P-c1" link show dev eth0 | grep -q 'mtu 1500'
	ip -n "$P-c1" route show default | grep -q 'via 10.88.0.1'
	for a in c1 c2 c3; do
		for b in c1 c2 c3; do
			[ "$a" = "$b" ] && continue
			ip netns exec "$P-$a" ping -c 2 -i 0.2 -W 2 "$(ip_of net1 "$P-$b")"
		done
		# and the gateway (the host)
		ip netns exec "$P-$a" ping -c 1 -W 2 10.88.0.1
	done
	# no Linux bridge anywhere in the path
	! ip -n "$HOSTNS" -o link show type bridge | grep -q . || false
	[ "$(map_count endpoints)" -eq 3 ]
	[ "$(map_count ifaces)" -eq 3 ]
}

@test "stats count exactly what ping sent, bytes and packets" {
	three_endpoints
	ip2=$(ip_of net1 "$P-c2"); ip3=$(ip_of net1 "$P-c3")
	# warm up ARP (answered by the BPF responder)
	ip netns exec "$P-c1" ping -c 1 -W 2 "$ip2" >/dev/null
	ip netns exec "$P-c1" ping -c 1 -W 2 "$ip3" >/dev/null
	ip netns exec "$P-c2" ping -c 1 -W 2 "$ip3" >/dev/null
	declare -A before
	for c in c1 c2 c3; do for f in TxPackets TxBytes RxPackets RxBytes; do
		before[$c$f]=$(ep_stat "$P-$c" $f)
	done; done
	ip netns exec "$P-c1" ping -q -c 10 -s 100 -i 0.05 "$ip2"
	ip netns exec "$P-c1" ping -q -c 5 -s 100 -i 0.05 "$ip3"
	ip netns exec "$P-c2" ping -q -c 7 -s 100 -i 0.05 "$ip3"
	frame=$((100 + 8 + 20 + 14))   # ICMP payload + ICMP + IPv4 + Ethernet
	# c1: 15 requests out, 15 replies in; c2: 10 replies + 7 requests out,
	# 10 requests + 7 replies in; c3: 5 + 7 replies out, 12 requests in.
	declare -A want=([c1]=15 [c2]=17 [c3]=12)
	for c in c1 c2 c3; do
		n=${want[$c]}
		[ $(( $(ep_stat "$P-$c" TxPackets) - before[${c}TxPackets] )) -eq "$n" ]
		[ $(( $(ep_stat "$P-$c" RxPackets) - before[${c}RxPackets] )) -eq "$n" ]
		[ $(( $(ep_stat "$P-$c" TxBytes) - before[${c}TxBytes] )) -eq $((n * frame)) ]
		[ $(( $(ep_stat "$P-$c" RxBytes) - before[${c}RxBytes] )) -eq $((n * frame)) ]
	done
	# host <-> endpoint (through the gateway address) is counted too, once:
	# requests from the host by to_container, replies by from_container
	in_host ping -c 1 -W 2 10.88.0.2 >/dev/null
	veth=$(shoal network inspect net1 | jq -r --arg n "$P-c1" '.[0].Containers[] | select(.Name == $n) | .HostInterface')
	in_host sysctl -qw "net.ipv4.neigh.$veth.base_reachable_time_ms=600000"
	tx0=$(ep_stat "$P-c1" TxPackets); rx0=$(ep_stat "$P-c1" RxPackets)
	txb0=$(ep_stat "$P-c1" TxBytes); rxb0=$(ep_stat "$P-c1" RxBytes)
	in_host ping -q -c 4 -s 100 -i 0.05 10.88.0.2
	[ $(( $(ep_stat "$P-c1" TxPackets) - tx0 )) -eq 4 ]
	[ $(( $(ep_stat "$P-c1" RxPackets) - rx0 )) -eq 4 ]
	[ $(( $(ep_stat "$P-c1" TxBytes) - txb0 )) -eq $((4 * frame)) ]
	[ $(( $(ep_stat "$P-c1" RxBytes) - rxb0 )) -eq $((4 * frame)) ]
	# the table form names every endpoint
	run shoal stats --no-stream
	[[ "$output" == *"$P-c1"* ]]
}

@test "a packet to an unknown address in the subnet is dropped and counted" {
	three_endpoints
	run ip netns exec "$P-c1" ping -c 2 -i 0.2 -W 1 10.88.0.77
	[ "$status" -ne 0 ]
	# ARP for it is not answered (no flooding): dropped as no_endpoint
	[ "$(shoal stats --no-stream --format json | jq -r --arg n "$P-c1" \
		'(if type == "array" then . else .Endpoints end)[] | select(.Name == $n) | .Drops.no_endpoint')" -ge 2 ]
	# with a static neighbour the IP packet itself is dropped, same reason
	ip -n "$P-c1" neigh replace 10.88.0.77 lladdr 02:42:0a:58:00:4d dev eth0
	d0=$(shoal stats --no-stream --format json | jq -r --arg n "$P-c1" \
		'(if type == "array" then . else .Endpoints end)[] | select(.Name == $n) | .Drops.no_endpoint')
	run ip netns exec "$P-c1" ping -c 3 -i 0.2 -W 1 10.88.0.77
	[ "$status" -ne 0 ]
	d1=$(shoal stats --no-stream --format json | jq -r --arg n "$P-c1" \
		'(if type == "array" then . else .Endpoints end)[] | select(.Name == $n) | .Drops.no_endpoint')
	[ $((d1 - d0)) -eq 3 ]
}

@test "kill -9 of shoald during a ping loses nothing; restart keeps state and counters" {
	three_endpoints
	ip2=$(ip_of net1 "$P-c2")
	ip netns exec "$P-c1" ping -c 1 -W 2 "$ip2" >/dev/null
	tx0=$(ep_stat "$P-c1" TxPackets)
	ip netns exec "$P-c1" ping -q -c 60 -i 0.05 "$ip2" > "$W/ping.out" 2>&1 &
	ping_pid=$!
	echo $ping_pid >> "$W/pids"
	sleep 0.7
	stop_shoald 9
	# the data plane forwards with no daemon at all
	sleep 1
	[ -z "$(pgrep -f "$W/shoal.sock" || true)" ]
	start_shoald
	wait $ping_pid
	grep -q ' 60 received, 0% packet loss' "$W/ping.out"
	# state intact
	[ "$(shoal network inspect net1 | jq '.[0].Containers | length')" -eq 3 ]
	# counters carried over the restart: exactly the 60 requests, no more, no less
	[ $(( $(ep_stat "$P-c1" TxPackets) - tx0 )) -eq 60 ]
	# maps reconciled, nothing duplicated
	[ "$(map_count endpoints)" -eq 3 ]
	[ "$(map_count ifaces)" -eq 3 ]
	[ "$(map_count ep_stats)" -eq 3 ]
	[ "$(host_veths | wc -l)" -eq 3 ]
	ip netns exec "$P-c3" ping -c 1 -W 2 "$ip2"
}

@test "disconnect removes the veth, the map entries and the counters" {
	three_endpoints
	veth=$(shoal network inspect net1 | jq -r --arg n "$P-c2" '.[0].Containers[] | select(.Name == $n) | .HostInterface')
	ip -n "$HOSTNS" link show "$veth"
	run shoal network disconnect net1 --netns "$P-c2"
	[ "$status" -eq 0 ]
	! ip -n "$HOSTNS" link show "$veth" 2>/dev/null || false
	! ip -n "$P-c2" link show eth0 2>/dev/null || false
	[ "$(map_count endpoints)" -eq 2 ]
	[ "$(map_count ifaces)" -eq 2 ]
	[ "$(map_count ep_stats)" -eq 2 ]
	[ "$(shoal network inspect net1 | jq '.[0].Containers | length')" -eq 2 ]
	run shoal network rm net1
	[ "$status" -ne 0 ]
	[[ "$output" == *"active endpoints"* ]]
	# and it can come back with the same address
	shoal network connect net1 --netns "$P-c2" --ip 10.88.0.3
	ip netns exec "$P-c1" ping -c 1 -W 2 10.88.0.3
}

@test "reconcile at start removes stale veths and map entries, recreates missing ones" {
	three_endpoints
	stop_shoald TERM
	# SIGTERM leaves the data plane running
	ip netns exec "$P-c1" ping -c 2 -i 0.2 -W 2 10.88.0.3
	# a veth that state does not know, and an endpoint veth deleted behind our back
	ip -n "$HOSTNS" link add shlstale0000000 type veth peer name stalepeer
	veth=$(sqlite3 "$W/data/shoal.db" "select host_ifname from endpoints order by ep_id limit 1")
	ip -n "$HOSTNS" link del "$veth"
	start_shoald
	! ip -n "$HOSTNS" link show shlstale0000000 2>/dev/null || false
	ip -n "$HOSTNS" link show "$veth"
	[ "$(map_count endpoints)" -eq 3 ]
	[ "$(map_count ifaces)" -eq 3 ]
	ip netns exec "$P-c2" ping -c 1 -W 2 10.88.0.2
}

@test "bad input: clear errors and no partial state" {
	shoal network create --subnet 10.88.0.0/24 net1 >/dev/null
	endpoint_ns "$P-c1"
	links0=$(ip -n "$HOSTNS" -o link show | wc -l)

	run shoal network create --subnet 10.99.0.0/24 net1
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]

	run shoal network create --subnet 10.88.0.0/25 net2
	[ "$status" -ne 0 ]
	[[ "$output" == *"overlaps"* ]]

	run shoal network create --subnet 10.300.0.0/24 net3
	[ "$status" -ne 0 ]
	[[ "$output" == *"10.300.0.0/24"* ]]

	run shoal network create --subnet 10.77.0.1/24 net4
	[ "$status" -ne 0 ]
	[[ "$output" == *"10.77.0.0/24"* ]]

	run shoal network connect nosuchnet --netns "$P-c1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuchnet"*"not found"* ]]

	run shoal network connect net1 --netns "$P-c1" --ip 10.99.0.5
	[ "$status" -ne 0 ]
	[[ "$output" == *"10.99.0.5"* ]]

	run shoal network connect net1 --netns "$P-c1" --ip 10.88.0.1
	[ "$status" -ne 0 ]
	[[ "$output" == *"gateway"* ]]

	run shoal network connect net1 --netns "$P-nosuchns"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$P-nosuchns"* ]]

	run api POST /networks/create '{"Name": "x", '
	[[ "$output" == *"malformed JSON"* ]]
	[[ "$output" == *"HTTP 400"* ]]
	run api POST /networks/create '["x"]'
	[[ "$output" == *"HTTP 400"* ]]
	run api GET /networks/nosuch
	[[ "$output" == *"HTTP 404"* ]]
	run api POST /networks/create '{"Name": "bad/name"}'
	[[ "$output" == *"HTTP 400"* ]]
	[[ "$output" == *"invalid network name"* ]]
	run api POST /networks/create '{"Name": "dup"}'
	[[ "$output" == *"HTTP 201"* ]]
	run api POST /networks/create '{"Name": "dup"}'
	[[ "$output" == *"HTTP 409"* ]]
	shoal network rm dup

	# nothing half-made
	[ "$(shoal network ls -q | wc -l)" -eq 1 ]
	[ "$(map_count networks)" -eq 1 ]
	[ "$(map_count endpoints)" -eq 0 ]
	[ "$(map_count ifaces)" -eq 0 ]
	[ "$(ip -n "$HOSTNS" -o link show | wc -l)" -eq "$links0" ]
	! ip -n "$P-c1" link show eth0 2>/dev/null || false
	[ "$(sqlite3 "$W/data/shoal.db" 'select count(*) from endpoints')" -eq 0 ]
}

@test "one daemon per data-root; bad daemon.json stops start-up naming the key" {
	run nsenter --net="/run/netns/$HOSTNS" "$SHOALD" --data-root "$W/data" --exec-root "$W/exec2" \
		--host "unix://$W/other.sock" --bpffs-root "$W/bpffs" --node-name "$NODE" \
		--config-file "$W/daemon.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"another shoald"* ]]
	echo '{"data-root": "/tmp/x", "no-such-key": 1}' > "$W/bad.json"
	run "$SHOALD" --config-file "$W/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no-such-key"* ]]
	echo '{"mtu": "big"}' > "$W/bad.json"
	run "$SHOALD" --config-file "$W/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mtu"* ]]
}
