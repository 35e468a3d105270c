#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# observability_overlay.bats - flows on the overlay path: two "hosts"
# (tools/hosts.sh), an overlay with an endpoint on each and peers
# programmed by hand, real VXLAN on a veth underlay. The sender's flow is
# counted by from_container (encapsulated), the receiver's by
# from_underlay (decapsulated), exactly, with the remote peer named.

load hosts_helpers
load obs_helpers

teardown() {
	hosts_teardown
}

flow_of() {  # HOST ENDPOINT DIR FIELD: the UDP flow to port 6000
	hs "$1" flows "$2" --limit 0 --format json | jq -r --arg d "$3" --arg f "$4" \
		'[.Flows[] | select(.Direction == $d and .Proto == "udp" and .DstPort == 6000)][0][$f]'
}

@test "overlay: 1000 datagrams counted exactly at both ends, remote peer named NAME@NODE" {
	hosts_setup 2
	ovl_create 1
	ovl_create 2
	E1=$P-e1 E2=$P-e2
	ep_add 1 "$E1" 10.0.9.2
	ep_add 2 "$E2" 10.0.9.3
	mesh "1:$E1:10.0.9.2" "2:$E2:10.0.9.3"
	ip netns exec "$E1" ping -c 1 -W 2 10.0.9.3 >/dev/null
	ip netns exec "$E2" nc -ulk 6000 >/dev/null 2>&1 &
	echo $! >> "$W/pids"
	sleep 0.3
	udp_send "$E1" 10.0.9.3 6000 1000 200
	frame=$((200 + 8 + 20 + 14))
	[ "$(flow_of 1 "$E1" egress Packets)" -eq 1000 ]
	[ "$(flow_of 1 "$E1" egress Bytes)" -eq $((1000 * frame)) ]
	[ "$(flow_of 1 "$E1" egress PeerKind)" = remote ]
	[[ "$(flow_of 1 "$E1" egress Peer)" == *"@$UNDERLAY_IP_2" ]]
	[ "$(flow_of 2 "$E2" ingress Packets)" -eq 1000 ]
	[ "$(flow_of 2 "$E2" ingress Bytes)" -eq $((1000 * frame)) ]
	[ "$(flow_of 2 "$E2" ingress PeerKind)" = remote ]
	# and the per-container byte counters agree in the metrics of host 2
	m=$(curl -sf --unix-socket "$(sock_of 2)" http://localhost/metrics)
	grep -q "^shoal_container_active_flows{container=\"$E2\".*} [1-9]" <<<"$m"
}
