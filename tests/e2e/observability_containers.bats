#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# observability_containers.bats - the observability views with real
# containers (`shoal run`): names resolved from the container, peers
# named, cgroup columns of `shoal stats`, `shoal top` with and without a
# CONTAINER. Skips, saying why, on a shoald without the containers API.

bats_require_minimum_version 1.5.0
load helpers
load container_helpers

setup_file() { ctr_file_setup; }

setup() { ctr_test_setup; }

teardown() {
	local f
	if [ -n "${W:-}" ]; then
		shoal rm -f web1 web2 >/dev/null 2>&1 || true
		stop_shoald 9
		for f in "$W"/exec/containers/*/shim.pid "$W"/exec/containers/*/init.pid; do
			[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
		done
	fi
	e2e_teardown
}

ctr_ip() { shoal inspect "$1" | jq -r '.[0].NetworkSettings.Networks.net1.IPAddress'; }
ctr_pid() { shoal inspect "$1" | jq -r '.[0].State.Pid'; }

@test "containers: flows, metrics, stats and top name containers; stats has cgroup columns" {
	shoal network create --subnet 10.89.0.0/24 net1 >/dev/null
	shoal run -d --name web1 --network net1 shoal/busybox sleep 300 >/dev/null
	shoal run -d --name web2 --network net1 shoal/busybox sleep 300 >/dev/null
	id1=$(shoal inspect web1 | jq -r '.[0].Id')
	ip2=$(ctr_ip web2)
	# real traffic from inside web1's network namespace
	nsenter --net="/proc/$(ctr_pid web1)/ns/net" ping -c 3 -i 0.1 -W 2 "$ip2" >/dev/null
	f=$(shoal flows web1 --format json | jq -c '[.Flows[] | select(.Direction == "egress" and .Proto == "icmp")][0]')
	[ "$(jq -r .Endpoint.Name <<<"$f")" = web1 ]
	[ "$(jq -r .Endpoint.Container <<<"$f")" = "$id1" ]
	[ "$(jq -r .Peer <<<"$f")" = web2 ]
	[ "$(jq -r .Packets <<<"$f")" -ge 3 ]
	api GET /metrics | grep -q "^shoal_container_tx_packets_total{container=\"web1\",id=\"$id1\",network=\"net1\",node=\"$NODE\"} [1-9]"
	# stats: one row per container, cgroup figures present
	row=$(shoal stats --no-stream --format json | jq -c '.[] | select(.Name == "web1")')
	[ "$(jq -r .ID <<<"$row")" = "${id1:0:12}" ]
	[[ "$(jq -r .CPUPerc <<<"$row")" == *% ]]
	[[ "$(jq -r .MemUsage <<<"$row")" == *" / "* ]]
	[ "$(jq -r .PIDs <<<"$row")" != -- ]
	[ "$(jq -r .TxPackets <<<"$row")" -ge 3 ]
	run shoal stats --no-stream web1
	[[ "${lines[1]}" == "${id1:0:12}"*web1* ]]
	# top: rates by container name; with a CONTAINER, its processes
	[ "$(shoal top --no-stream --format json | jq -r '.[] | select(.Name == "web2") | .ID')" = "$(shoal inspect web2 | jq -r '.[0].Id[0:12]')" ]
	run shoal top web1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[[ "$output" == *sleep* ]]
}
