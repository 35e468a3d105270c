#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Wire-format interoperability with the kernel's own vxlan driver.
#
# Host 1 runs shoald (tools/hosts.sh); host 2 on the same switch has no
# shoald: it gets what Docker's overlay driver builds, by hand, as in
# ../shared/bench/docker-overlay-baseline.sh: a vxlan device (VNI 4097,
# UDP 4789, no learning, no default remote) created in the host namespace
# (its UDP socket lives there) and moved into a sandbox namespace with a
# bridge br0, a veth from br0 to the container namespace Cb (eth0
# 10.0.9.3/24, MTU 1450), a static FDB entry for host 1's endpoint MAC ->
# host 1's underlay IP and a permanent neighbour entry in Cb.  If shoal's
# VXLAN differs from the kernel's in any bit that matters, nothing passes.

bats_require_minimum_version 1.5.0
load hosts_helpers

note() { echo "# $*" >&3; }

setup() {
	hosts_setup 2 --daemons 1
	ovl_create 1
	EA=$P-ca
	ep_add 1 "$EA" 10.0.9.2
	MAC_A=$(ep_mac "$EA")
	# host 2: Docker's overlay plumbing
	SB=$P-sb CB=$P-cb
	MAC_B=02:42:0a:00:09:03
	netns_add "$SB"
	netns_add "$CB"
	ip -n "$NS_2" link add vxlan0 type vxlan id 4097 dstport 4789 local "$UNDERLAY_IP_2" \
		dev "$UNDERLAY_IF" nolearning
	ip -n "$NS_2" link set vxlan0 netns "$SB"
	ip -n "$SB" link add br0 type bridge
	ip -n "$SB" link set vxlan0 mtu 1450 master br0 up
	ip -n "$SB" link add veth0 type veth peer name eth0 netns "$CB"
	ip -n "$SB" link set veth0 mtu 1450 master br0 up
	ip -n "$SB" link set br0 up
	ip netns exec "$CB" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
	ip -n "$CB" link set eth0 address "$MAC_B" mtu 1450 up
	ip -n "$CB" addr add 10.0.9.3/24 dev eth0
	bridge -n "$SB" fdb append "$MAC_A" dev vxlan0 dst "$UNDERLAY_IP_1" self permanent
	ip -n "$CB" neigh replace 10.0.9.2 lladdr "$MAC_A" dev eth0 nud permanent
	# host 1: the remote endpoint, by hand
	peer_add 1 ov 10.0.9.3 "$MAC_B" "$UNDERLAY_IP_2" >/dev/null
}

teardown() {
	hosts_teardown
}

@test "kernel vxlan interop: ping both ways, counted on shoal's side" {
	ip netns exec "$EA" ping -c 3 -i 0.2 -W 2 10.0.9.3
	ip netns exec "$CB" ping -c 3 -i 0.2 -W 2 10.0.9.2
	# full-size frames too
	ip netns exec "$EA" ping -c 2 -i 0.2 -W 2 -M do -s $((1450 - 28)) 10.0.9.3
	ip netns exec "$CB" ping -c 2 -i 0.2 -W 2 -M do -s $((1450 - 28)) 10.0.9.2
	# the kernel accepted shoal's VXLAN and sent VXLAN that shoal took
	[ "$(ip -n "$SB" -s -j link show dev vxlan0 | jq '.[0].stats64.rx.packets')" -ge 10 ]
	[ "$(ip -n "$SB" -s -j link show dev vxlan0 | jq '.[0].stats64.rx.errors')" -eq 0 ]
	[ "$(node_stat 1 .RxVxlanPackets)" -ge 10 ]
	[ "$(node_stat 1 .TxVxlanPackets)" -ge 10 ]
	[ "$(node_stat 1 '.Drops | add')" -eq 0 ]
	# exact: 5 requests one way after warm-up, each counted once per side
	tx0=$(node_stat 1 .TxVxlanPackets); rx0=$(node_stat 1 .RxVxlanPackets)
	ip netns exec "$EA" ping -q -c 5 -i 0.05 -W 2 10.0.9.3
	[ $(( $(node_stat 1 .TxVxlanPackets) - tx0 )) -eq 5 ]
	[ $(( $(node_stat 1 .RxVxlanPackets) - rx0 )) -eq 5 ]
}

@test "kernel vxlan interop: TCP both ways, content checksummed" {
	ip netns exec "$EA" ping -c 1 -W 2 10.0.9.3 >/dev/null
	run sha_transfer "$EA" "$CB" 10.0.9.3 67108864
	note "shoal -> kernel vxlan: $output"
	[ "$status" -eq 0 ]
	run sha_transfer "$CB" "$EA" 10.0.9.2 67108864
	note "kernel vxlan -> shoal: $output"
	[ "$status" -eq 0 ]
	# iperf3, a short run each way
	iperf_run "$EA" "$CB" 10.0.9.3 "$W/ab.json" -t 2
	jq -e '.end.sum_received.bytes > 0' "$W/ab.json"
	iperf_run "$CB" "$EA" 10.0.9.2 "$W/ba.json" -t 2
	jq -e '.end.sum_received.bytes > 0' "$W/ba.json"
	note "iperf3 shoal -> kernel: $(jq '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$W/ab.json") Gbit/s," \
		"kernel -> shoal: $(jq '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$W/ba.json") Gbit/s"
	[ "$(stats_json 1 | jq '[.Endpoints[].DropsTotal] | add')" -eq 0 ]
}
