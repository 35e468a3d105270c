#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Per-container traffic observability end to end: flows (shoal flows),
# events (shoal monitor), rates (shoal top) and the docker-stats view
# (shoal stats), on real veths with the real BPF programs. Endpoints are
# network namespaces attached with `shoal network connect --netns`: the
# same data path containers use.

load helpers
load obs_helpers

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

# Three endpoints c1 c2 c3 on net1 (10.88.0.0/24); daemon args pass through.
world() {
	start_shoald "$@"
	obs_endpoints c1 c2 c3
	IP2=$(ip_of net1 "$P-c2")
	IP1=$(ip_of net1 "$P-c1")
}

# bg NS CMD...: run in namespace NS in the background, killed in teardown.
bg() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" >/dev/null 2>&1 &
	echo $! >> "$W/pids"
}

# monitor_bg FILE ARGS...: `shoal monitor ARGS` into FILE until teardown;
# returns once the stream is established (its first line arrived).
monitor_bg() {
	local f=$1; shift
	# the binary itself in the background (not the shoal function's
	# subshell), so that its pid is the one killed
	"$SHOAL_BIN" -H "unix://$W/shoal.sock" monitor "$@" > "$f" 2>&1 &
	MON_PID=$!
	echo $MON_PID >> "$W/pids"
	for _ in $(seq 1 50); do
		[ -s "$f" ] && return 0
		sleep 0.1
	done
	echo "monitor did not start: $(cat "$f")" >&2
	return 1
}

flow_of() {  # flow_of ENDPOINT DIR PROTO DPORT FIELD
	shoal flows "$1" --limit 0 --format json | jq -r --arg d "$2" --arg p "$3" --argjson port "$4" --arg f "$5" \
		'[.Flows[] | select(.Direction == $d and .Proto == $p and .DstPort == $port)][0][$f]'
}

@test "flows: 1000 UDP datagrams are counted exactly on both ends, peers named" {
	world
	bg "$P-c2" nc -ulk 5000
	sleep 0.3
	udp_send "$P-c1" "$IP2" 5000 1000 100
	frame=$((100 + 8 + 20 + 14))
	[ "$(flow_of "$P-c1" egress udp 5000 Packets)" -eq 1000 ]
	[ "$(flow_of "$P-c1" egress udp 5000 Bytes)" -eq $((1000 * frame)) ]
	[ "$(flow_of "$P-c1" egress udp 5000 Peer)" = "$P-c2" ]
	[ "$(flow_of "$P-c1" egress udp 5000 PeerKind)" = container ]
	[ "$(flow_of "$P-c1" egress udp 5000 DstIP)" = "$IP2" ]
	[ "$(flow_of "$P-c2" ingress udp 5000 Packets)" -eq 1000 ]
	[ "$(flow_of "$P-c2" ingress udp 5000 Bytes)" -eq $((1000 * frame)) ]
	[ "$(flow_of "$P-c2" ingress udp 5000 Peer)" = "$P-c1" ]
	[ "$(flow_of "$P-c1" egress udp 5000 Active)" = true ]
	# the table: names, peer, sizes, and the state of the flow table
	run shoal flows "$P-c1"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == CONTAINER*DIR*PROTO*SOURCE*DESTINATION*PEER*PACKETS*BYTES*AGE* ]]
	[[ "$output" == *"$P-c1"*egress*udp*"$IP2:5000"*"$P-c2"*1000*142kB* ]]
	[[ "$output" == *"flow table: "*" entries ("*"created, 0 evicted, 0 not tracked"* ]]
	# only c1's flows; sort and limit
	[ "$(shoal flows "$P-c1" --format json | jq '[.Flows[].Endpoint.Name] | unique | length')" -eq 1 ]
	[ "$(shoal flows "$P-c1" --sort packets --limit 1 --format json | jq '.Flows | length')" -eq 1 ]
	[ "$(shoal flows "$P-c1" --sort packets --limit 1 --format json | jq '.Flows[0].Packets')" -eq 1000 ]
	# bad input
	run shoal flows nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such container: nosuch"* ]]
	run shoal flows --sort size
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected bytes, packets or age"* ]]
	run api GET '/shoal/flows?limit=-1'
	[[ "$output" == *"HTTP 400"* ]]
}

@test "flows: host path named host, TCP flags seen, overlay-free paths all counted" {
	world
	in_host true
	ip netns exec "$P-c1" ping -c 3 -i 0.1 10.88.0.1 >/dev/null
	[ "$(flow_of "$P-c1" egress icmp 0 Peer)" = host ]
	[ "$(flow_of "$P-c1" egress icmp 0 Packets)" -eq 3 ]
	[ "$(flow_of "$P-c1" ingress icmp 0 Packets)" -eq 3 ]
	# TCP: a whole connection, SYN to FIN
	bg "$P-c2" nc -l 8080
	sleep 0.3
	echo hello | ip netns exec "$P-c1" nc -N -w 2 "$IP2" 8080
	sleep 0.2
	flags=$(flow_of "$P-c1" egress tcp 8080 TCPFlags)
	[[ "$flags" == *SYN* && "$flags" == *ACK* && "$flags" == *FIN* ]]
	[ "$(flow_of "$P-c1" egress tcp 8080 Active)" = false ]
	[ "$(flow_of "$P-c2" ingress tcp 8080 TCPFlags)" = "$flags" ]
}

@test "monitor: a drop to an unknown address carries reason, place, endpoint and 5-tuple" {
	world
	ip -n "$P-c1" neigh replace 10.88.0.77 lladdr 02:42:0a:58:00:4d dev eth0
	monitor_bg "$W/mon.json" --type drop --format json
	monitor_bg "$W/mon.txt" --type drop
	monitor_bg "$W/mon-c2.json" --type drop --container "$P-c2" --format json
	udp_send "$P-c1" 10.88.0.77 5000 3 100
	for _ in $(seq 1 30); do
		[ "$(grep -c '"drop"' "$W/mon.json")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c '"Type":"drop"' "$W/mon.json")" -eq 3 ]
	ev=$(grep '"Type":"drop"' "$W/mon.json" | head -1)
	[ "$(jq -r .Reason <<<"$ev")" = no_endpoint ]
	[[ "$(jq -r .Source <<<"$ev")" =~ ^lxc\.h:[0-9]+$ ]]
	[ "$(jq -r .Endpoint.Name <<<"$ev")" = "$P-c1" ]
	[ "$(jq -r .Proto <<<"$ev")" = udp ]
	[ "$(jq -r .SrcIP <<<"$ev")" = "$IP1" ]
	[ "$(jq -r .Dst <<<"$ev")" = "10.88.0.77:5000" ]
	[ "$(jq -r .SrcPort <<<"$ev")" -gt 0 ]
	[ "$(jq -r .Length <<<"$ev")" -eq 142 ]
	# text form, as cilium monitor prints it
	grep -q "xx drop (no_endpoint) at lxc.h:[0-9]* from $P-c1 .*: udp $IP1:[0-9]* -> 10.88.0.77:5000, 142 bytes" "$W/mon.txt"
	grep -q "^Listening for events" "$W/mon.txt"
	# a monitor of c2 saw none of c1's drops
	[ "$(grep -c '"Type":"drop"' "$W/mon-c2.json" || true)" -eq 0 ]
	# the drops are in the counters too
	[ "$(ep_stat "$P-c1" DropsTotal)" -ge 3 ]
	# bad input
	run shoal monitor --type nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected drop, flow or all"* ]]
	run shoal monitor --container nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such container: nosuch"* ]]
	run api GET '/shoal/monitor?type=bogus'
	[[ "$output" == *"HTTP 400"* ]]
}

@test "monitor: flow start and end events (events drop,flow)" {
	echo '{"events": "drop,flow"}' > "$W/daemon.json"
	world
	monitor_bg "$W/mon.json" --type flow --container "$P-c1" --format json
	mon=$MON_PID
	grep -q '"FlowEvents":true' "$W/mon.json"
	bg "$P-c2" nc -l 8080
	sleep 0.3
	echo hello | ip netns exec "$P-c1" nc -N -w 2 "$IP2" 8080
	for _ in $(seq 1 30); do
		grep -q '"flow-end"' "$W/mon.json" && break
		sleep 0.1
	done
	start=$(grep '"flow-start"' "$W/mon.json" | jq -c 'select(.Proto == "tcp" and .DstPort == 8080 and .Direction == "egress")' | head -1)
	end=$(grep '"flow-end"' "$W/mon.json" | jq -c 'select(.Proto == "tcp" and .DstPort == 8080 and .Direction == "egress")' | head -1)
	[ -n "$start" ] && [ -n "$end" ]
	[ "$(jq -r .TCPFlags <<<"$start")" = SYN ]
	[[ "$(jq -r .TCPFlags <<<"$end")" == *FIN* ]]
	[ "$(jq -r .Endpoint.Name <<<"$end")" = "$P-c1" ]
	[ "$(jq -r .Packets <<<"$end")" -ge 3 ]
	# only c1's events reached this monitor
	[ "$(grep -c '"Type":"flow' "$W/mon.json")" -eq "$(grep '"Type":"flow' "$W/mon.json" | jq -r .Endpoint.Name | grep -c "^$P-c1$")" ]
	# a client that goes away is let go of (keepalives find it gone)
	clients() { api GET /metrics | sed -n 's/^shoal_monitor_clients{[^}]*} //p'; }
	[ "$(clients)" -eq 1 ]
	kill "$mon"
	for _ in $(seq 1 100); do
		[ "$(clients)" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(clients)" -eq 0 ]
}

@test "drop storm: the daemon stays responsive, losses are counted, memory stays bounded" {
	echo '{"event-rate-limit": 500}' > "$W/daemon.json"
	world
	ip -n "$P-c1" neigh replace 10.88.0.77 lladdr 02:42:0a:58:00:4d dev eth0
	pid=$(cat "$W/shoald.pid")
	rss0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
	d0=$(ep_stat "$P-c1" DropsTotal)
	monitor_bg "$W/mon.json" --type drop --format json
	ip netns exec "$P-c1" timeout 10 sockperf tp -i 10.88.0.77 -p 5000 -m 64 -t 3 > "$W/sockperf.log" 2>&1 &
	sp=$!
	echo $sp >> "$W/pids"
	sleep 1
	# responsive in the middle of the storm
	t0=$(date +%s%N)
	shoal version >/dev/null
	shoal flows --limit 1 >/dev/null
	t1=$(date +%s%N)
	[ $(( (t1 - t0) / 1000000 )) -lt 2000 ]
	wait $sp || true
	sleep 1.5
	drops=$(( $(ep_stat "$P-c1" DropsTotal) - d0 ))
	echo "drops in 3 s: $drops" >&3
	[ "$drops" -ge 30000 ]   # tens of thousands of packets per second...
	# ...but the events are capped: 500 per CPU per second
	m=$(api GET /metrics)
	sent=$(sed -n 's/^shoal_events_sent_total{[^}]*} //p' <<<"$m")
	rl=$(sed -n 's/^shoal_events_lost_total{.*cause="rate_limited"} //p' <<<"$m")
	echo "events sent $sent, rate limited $rl" >&3
	[ "$rl" -gt 0 ]
	[ "$sent" -le $(( 500 * $(nproc) * 6 )) ]
	[ $((sent + rl)) -ge "$drops" ]
	# the monitor was told what it missed
	grep '"Type":"lost"' "$W/mon.json" | jq -e 'select(.RateLimited > 0)' >/dev/null
	# memory: bounded by the ring, not by the drop rate
	rss1=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
	echo "shoald RSS ${rss0} kB -> ${rss1} kB" >&3
	[ $((rss1 - rss0)) -lt 20000 ]
	shoal version >/dev/null
}

@test "flow table full: LRU evictions are counted and shown, never silent" {
	echo '{"flow-table-size": 1024}' > "$W/daemon.json"
	world
	bg "$P-c2" nc -ulk 4999   # not the ports below: those answer ICMP
	# 1500 flows from c1 to c2 (c1 egress + c2 ingress: 3000 entries wanted)
	ip netns exec "$P-c1" bash -c 'for ((p = 10000; p < 11500; p++)); do printf x > /dev/udp/$0/$p; done' "$IP2" 2>/dev/null || true
	t=$(shoal flows --format json | jq -c .Table)
	echo "table: $t" >&3
	[ "$(jq .Size <<<"$t")" -eq 1024 ]
	[ "$(jq .Entries <<<"$t")" -le 1024 ]
	[ "$(jq .Created <<<"$t")" -ge 3000 ]
	[ "$(jq .Evicted <<<"$t")" -eq $(( $(jq .Created <<<"$t") - $(jq .Entries <<<"$t") )) ]
	[ "$(jq .Evicted <<<"$t")" -gt 0 ]
	run shoal flows
	[[ "$output" == *"flow table: "*"/1024 entries"*" evicted"* ]]
	[ "$(api GET /metrics | sed -n 's/^shoal_flows_evicted_total{[^}]*} //p')" -eq "$(jq .Evicted <<<"$t")" ]
	# a new size on restart replaces the pinned table; flows keep flowing in
	stop_shoald
	echo '{"flow-table-size": 2048}' > "$W/daemon.json"
	start_shoald
	grep -q 'flow table size changed (1024 -> 2048)' "$W/shoald.log"
	[ "$(shoal flows --format json | jq .Table.Size)" -eq 2048 ]
	[ "$(shoal info --format '{{.Shoal.FlowTableSize}}' 2>/dev/null || api GET /info | head -1 | jq .Shoal.FlowTableSize)" -eq 2048 ]
	ip netns exec "$P-c1" bash -c 'printf x > /dev/udp/$0/4999' "$IP2"
	[ "$(shoal flows "$P-c1" --format json | jq '[.Flows[] | select(.DstPort == 4999)] | length')" -eq 1 ]
	# a bad size stops start-up naming the key
	stop_shoald
	echo '{"flow-table-size": 10}' > "$W/daemon.json"
	run start_shoald
	[ "$status" -ne 0 ]
	grep -q 'flow-table-size.*must be between 1024 and 16777216' "$W/shoald.log"
	echo '{"events": "drops"}' > "$W/daemon.json"
	run start_shoald
	[ "$status" -ne 0 ]
	grep -q '"events".*expected "none", "drop", "flow" or "drop,flow"' "$W/shoald.log"
}

@test "flow accounting off: no flows recorded, endpoint counters still exact" {
	world --flow-accounting=false
	ip netns exec "$P-c1" ping -c 1 -W 2 "$IP2" >/dev/null
	tx0=$(ep_stat "$P-c1" TxPackets)
	ip netns exec "$P-c1" ping -q -c 5 -i 0.05 "$IP2" >/dev/null
	[ $(( $(ep_stat "$P-c1" TxPackets) - tx0 )) -eq 5 ]
	[ "$(shoal flows --format json | jq '.Flows | length')" -eq 0 ]
	[ "$(shoal flows --format json | jq .Table.Enabled)" = false ]
	run shoal flows
	[[ "$output" == *"flow accounting is off"* ]]
	[ "$(shoal info --format '{{json .Shoal.Accounting}}' 2>/dev/null || echo true)" = true ]
}

@test "stats: docker stats columns, -- without a cgroup; top: rates and active flows" {
	world
	run shoal stats --no-stream
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CONTAINER ID"*NAME*"CPU %"*"MEM USAGE / LIMIT"*"MEM %"*"NET I/O"*"BLOCK I/O"*PIDS*DROPS* ]]
	[[ "$output" == *"$P-c1"*" -- "*" -- "* ]]
	run shoal stats --help
	[[ "$output" == *'show "--" for an'* ]]
	# rates over a known load: 20 pings/s from c1 to c2 for the whole sample
	ip netns exec "$P-c1" ping -q -c 60 -i 0.05 "$IP2" >/dev/null &
	echo $! >> "$W/pids"
	sleep 0.5
	out=$(shoal top --no-stream --format json)
	r=$(jq -r --arg n "$P-c1" '.[] | select(.Name == $n)' <<<"$out")
	echo "c1: $r" >&3
	tx=$(jq .TxPacketsPerSec <<<"$r"); rx=$(jq .RxPacketsPerSec <<<"$r")
	awk -v v="$tx" 'BEGIN { exit !(v >= 14 && v <= 26) }'
	awk -v v="$rx" 'BEGIN { exit !(v >= 14 && v <= 26) }'
	[ "$(jq .ActiveFlows <<<"$r")" -ge 2 ]
	[ "$(jq -r --arg n "$P-c3" '.[] | select(.Name == $n) | .TxPacketsPerSec' <<<"$out")" = 0 ]
	run shoal top --no-stream
	[[ "${lines[0]}" == NAME*NETWORK*RX/s*TX/s*"RX PKTS/s"*"TX PKTS/s"*DROPS/s*"ACTIVE FLOWS" ]]
	# streaming by default: two refreshes in a little over two seconds
	run timeout 2.6 "$SHOAL_BIN" -H "unix://$W/shoal.sock" top
	[ "$(grep -c '^NAME' <<<"$output")" -eq 2 ]
}
