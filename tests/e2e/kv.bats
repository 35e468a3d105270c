#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kv.bats - overlay discovery through an external key-value store (etcd):
# a real etcd-server started per test in the switch namespace, 3 hosts
# from tools/hosts.sh whose shoalds use "cluster-store". Keys are checked
# with etcdctl, a client we did not write.

load kv_helpers

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	etcd_available || skip "etcd/etcdctl not installed (Debian etcd-server, etcd-client: make deps)"
}

teardown() {
	hosts_teardown
}

@test "kv: 3 hosts in etcd mode learn a network and each other's endpoints; etcdctl sees the keys" {
	kv_up 3
	ovl_create 1
	wait_for 5 net_on 2 ov
	wait_for 5 net_on 3 ov
	[ "$(hs 2 network inspect ov | jq -r '.[0].IPAM.Config[0].Subnet')" = "$OV_SUBNET" ]
	[ "$(hs 3 network inspect ov | jq -r '.[0].Options["com.docker.network.driver.overlay.vxlanid_list"]')" = "$OV_VNI" ]
	local k ips=()
	for k in 1 2 3; do
		ep_connect "$k" "$P-e$k"
		ips+=("$(ep_ip "$P-e$k")")
	done
	[ "$(printf '%s\n' "${ips[@]}" | sort -u | wc -l)" -eq 3 ]
	wait_for 5 in_map 1 "${ips[1]}"
	wait_for 5 in_map 1 "${ips[2]}"
	wait_for 5 in_map 2 "${ips[0]}"
	wait_for 5 in_map 3 "${ips[1]}"
	pings "$P-e1" "${ips[1]}"
	pings "$P-e1" "${ips[2]}"
	pings "$P-e3" "${ips[1]}"
	# the layout, read with etcdctl
	run kv_keys
	echo "$output"
	[[ "$output" == *"/shoal/v1/nodes/$NODE_1"* ]]
	[[ "$output" == *"/shoal/v1/nodes/$NODE_3"* ]]
	[[ "$output" == *"/shoal/v1/networks/ov"* ]]
	[[ "$output" == *"/shoal/v1/vnis/$OV_VNI"* ]]
	for k in 0 1 2; do [[ "$output" == *"/shoal/v1/endpoints/ov/${ips[k]}"* ]]; done
	run etcdctl_ get --print-value-only "/shoal/v1/endpoints/ov/${ips[1]}"
	[ "$(echo "$output" | jq -r .Node)" = "$NODE_2" ]
	[ "$(echo "$output" | jq -r .NodeIP)" = "$UNDERLAY_IP_2" ]
	[ "$(echo "$output" | jq -r .MAC)" = "$(ep_mac "$P-e2")" ]
	# node keys are bound to a lease (liveness)
	run etcdctl_ get -w json "/shoal/v1/nodes/$NODE_1"
	[ "$(echo "$output" | jq -r '.kvs[0].lease')" != null ]
	# shoal info shows the store
	run hs 1 info
	[[ "$output" == *"Cluster Store: $(KV_URL)"* ]]
	[[ "$output" == *"Status: healthy"* ]]
	run hapi 1 GET /v1.41/info
	[ "$(echo "$output" | head -n -1 | jq -r .ClusterStore)" = "$(KV_URL)" ]
	[ "$(echo "$output" | head -n -1 | jq -r .Shoal.ClusterStore.Status)" = healthy ]
	[ "$(echo "$output" | head -n -1 | jq -r '.Shoal.ClusterStore.Nodes | length')" = 3 ]
	# a disconnect removes the key and the peer everywhere
	hs 3 network disconnect ov --netns "$P-e3"
	wait_for 5 not_in_map 1 "${ips[2]}"
	wait_for 5 not_in_map 2 "${ips[2]}"
	run kv_keys /shoal/v1/endpoints/
	[[ "$output" != *"${ips[2]}"* ]]
}

@test "kv: one network created on two hosts at once: they agree; conflicts are clear errors" {
	kv_up 2
	# host 1 already uses the first default pool locally, so the two hosts
	# pick different default subnets for "shared". Created on both at once,
	# the store's compare-and-swap decides: the loser adopts the winner's
	# subnet and VNI, is told it already exists (learnt meanwhile), or, if
	# the winner's subnet overlaps one of its local networks, gets an
	# error saying so. Never two versions of one network.
	hs 1 network create --subnet 172.17.0.0/16 localonly >/dev/null
	hs 1 network create -d overlay shared >"$W/c1.out" 2>&1 &
	local p1=$!
	hs 2 network create -d overlay shared >"$W/c2.out" 2>&1 &
	local p2=$! r1=0 r2=0
	wait "$p1" || r1=$?
	wait "$p2" || r2=$?
	cat "$W/c1.out" "$W/c2.out"
	[ "$r1" -eq 0 ] || [ "$r2" -eq 0 ]
	! grep -i error "$W/c1.out" "$W/c2.out" | grep -v -e "already exists" -e "overlaps with the local network localonly" || false
	local store k s
	store=$(etcdctl_ get --print-value-only /shoal/v1/networks/shared | jq -c '[.Subnet, (.VNI|tostring)]')
	for k in 1 2; do
		net_on "$k" shared || continue
		s=$(hs "$k" network inspect shared | jq -c '.[0] | [.IPAM.Config[0].Subnet, .Options["com.docker.network.driver.overlay.vxlanid_list"]]')
		echo "host $k: $s store: $store"
		[ "$s" = "$store" ]
	done
	# the longest network name there is (128) travels too
	local long
	long=$(printf 'n%.0s' $(seq 1 128))
	hs 1 network create -d overlay --subnet 10.0.75.0/24 "$long" >/dev/null
	wait_for 5 net_on 2 "$long"
	# a network learnt from the store is not created twice
	hs 1 network create -d overlay --subnet 10.0.76.0/24 learnt >/dev/null
	wait_for 5 net_on 2 learnt
	run hs 2 network create -d overlay learnt
	echo "$output"; [ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]
	hs 1 network create -d overlay --subnet 10.0.77.0/24 --opt vni=4200 vni4200 >/dev/null
	# the store's subnet for a name wins over a different one asked for
	# (host 2 could not learn "clash": its subnet overlaps a local network)
	hs 2 network create --subnet 10.0.79.0/25 loc2 >/dev/null
	hs 1 network create -d overlay --subnet 10.0.79.0/24 clash >/dev/null
	sleep 0.5
	! net_on 2 clash || false
	run hs 2 network create -d overlay --subnet 10.0.80.0/24 clash
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists in the cluster store with subnet 10.0.79.0/24"* ]]
	# removing a network nobody else uses removes it from the store and
	# from every host
	hs 1 network rm vni4200 >/dev/null
	wait_for 5 store_lacks networks/vni4200
	store_lacks vnis/4200
	wait_for 5 not_net_on 2 vni4200
	hs 1 network create -d overlay --subnet 10.0.77.0/24 --opt vni=4200 vni4200 >/dev/null
	# a VNI another network holds
	run hs 2 network create -d overlay --subnet 10.0.81.0/24 --opt vni=4200 third
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"VNI 4200"* ]]
	# swarm mode is refused on a cluster-store node
	run hs 1 swarm init --advertise-addr "$UNDERLAY_IP_1"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mutually exclusive"* ]]
}

@test "kv: a killed shoald's lease expires and its endpoints leave the other maps" {
	kv_up 3
	ovl_create 1
	wait_for 5 net_on 3 ov
	local k ips=()
	for k in 1 2 3; do
		ep_connect "$k" "$P-e$k"
		ips+=("$(ep_ip "$P-e$k")")
	done
	wait_for 5 in_map 1 "${ips[2]}"
	wait_for 5 in_map 2 "${ips[2]}"
	local t0 t1
	t0=$(now_ms)
	"$HOSTS" kill --workdir "$HW" 3 KILL
	wait_for 15 not_in_map 1 "${ips[2]}"
	wait_for 5 not_in_map 2 "${ips[2]}"
	t1=$(now_ms)
	note "host 3 killed: its endpoint left hosts 1 and 2 after $((t1 - t0)) ms (TTL $KV_TTL)"
	run kv_keys
	[[ "$output" != *"nodes/$NODE_3"* ]]
	[[ "$output" != *"${ips[2]}"* ]]
	# host 2's endpoint stayed on host 1, and still answers
	in_map 1 "${ips[1]}"
	pings "$P-e1" "${ips[1]}"
	# host 3 comes back with the same engine: it re-registers its endpoint
	kv_host 3
	wait_for 10 in_map 1 "${ips[2]}"
	pings "$P-e1" "${ips[2]}"
}

@test "kv: etcd restarts during traffic: no forwarding gap, state converges after" {
	kv_up 3
	ovl_create 1
	wait_for 5 net_on 2 ov
	wait_for 5 net_on 3 ov
	ep_connect 1 "$P-e1"
	ep_connect 2 "$P-e2"
	local ip2
	ip2=$(ep_ip "$P-e2")
	wait_for 5 in_map 1 "$ip2"
	pings "$P-e1" "$ip2"
	# 100 pings at 50 ms while etcd is down for ~2 s and comes back
	local ev0
	ev0=$(store_events 1)
	bg "$P-e1" "$W/ping.log" ping -c 100 -i 0.05 -W 1 "$ip2"
	local ppid=$BG_PID
	sleep 0.5
	etcd_stop TERM
	wait_for 10 store_is 1 unreachable
	sleep 1
	etcd_start
	wait "$ppid" || true
	cat "$W/ping.log"
	grep -q ' 100 received' "$W/ping.log"
	wait_for 15 store_is 1 healthy
	wait_for 15 store_is 2 healthy
	# the watch resumed where it was: nothing replayed (nothing changed)
	[ "$(store_events 1)" -eq "$ev0" ]
	# converged: a change after the restart reaches every host
	ep_connect 3 "$P-e3"
	local ip3
	ip3=$(ep_ip "$P-e3")
	wait_for 10 in_map 1 "$ip3"
	wait_for 10 in_map 2 "$ip3"
	pings "$P-e1" "$ip3"
	# exactly one more event: that endpoint's key
	[ "$(store_events 1)" -eq $((ev0 + 1)) ]
	# the outage was logged once each way, not per retry
	[ "$(grep -c 'unreachable:' "$DIR_1/shoald.log")" -eq 1 ]
	[ "$(grep -c 'reachable again' "$DIR_1/shoald.log")" -ge 1 ]
}

@test "kv: 3 hosts allocating 50 addresses each at once on one subnet get 150 distinct" {
	kv_up 3
	hs 1 network create -d overlay --subnet 10.0.60.0/24 big >/dev/null
	wait_for 5 net_on 2 big
	wait_for 5 net_on 3 big
	local k i pids=()
	for k in 1 2 3; do
		(
			for i in $(seq 1 50); do
				ip netns add "$P-a$k-$i" && echo "$P-a$k-$i" >>"$W/netns.$k"
				hs "$k" network connect big --netns "$P-a$k-$i" >/dev/null || exit 1
			done
		) 3>&- &
		pids+=($!)
	done
	local rc=0
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	cat "$W"/netns.[123] >>"$W/netns"
	[ "$rc" -eq 0 ]
	for k in 1 2 3; do
		hs "$k" network inspect big | jq -r '.[0].Containers // {} | .[].IPv4Address | split("/")[0]'
	done >"$W/ips"
	[ "$(wc -l <"$W/ips")" -eq 150 ]
	[ "$(sort -u "$W/ips" | wc -l)" -eq 150 ]
	[ "$(kv_keys /shoal/v1/endpoints/big/ | wc -l)" -eq 150 ]
	# every host ends up with all 150 in its map
	for k in 1 2 3; do
		wait_for 10 map_has_all "$k" "$W/ips"
	done
}

@test "kv: bad URL, wrong prefix, unreachable store, duplicate node name: clear errors" {
	hosts_setup 2 --no-shoald
	local d=$W/solo
	mkdir -p "$d"
	run "$SHOALD" --data-root "$d/data" --cluster-store "etcd://$ETCD_IP" --node-name x
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--cluster-store"*"has no port"* ]]
	run "$SHOALD" --data-root "$d/data" --cluster-store "etcd://$ETCD_IP:2379/shoal//v1"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid prefix"* ]]
	run "$SHOALD" --data-root "$d/data" --cluster-store "etcd://$ETCD_IP:2379/sh oal"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid character"* ]]
	run "$SHOALD" --data-root "$d/data" --cluster-store "consul://$ETCD_IP:8500"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unsupported scheme \"consul\""* ]]
	echo '{"cluster-store": "etcd://h:99999"}' >"$d/daemon.json"
	run "$SHOALD" --config-file "$d/daemon.json" --data-root "$d/data"
	[ "$status" -ne 0 ]
	[[ "$output" == *"\"cluster-store\""*"port 99999"* ]]
	# nothing listens there: shoald refuses to start, naming the store
	etcd_start
	run kv_host 1 --cluster-store "etcd://$ETCD_IP:2399"
	[ "$status" -ne 0 ]
	run cat "$DIR_1/shoald.log"
	[[ "$output" == *"cluster store etcd://$ETCD_IP:2399"*"unreachable"* ]]
	# two hosts, one name: the second is refused
	kv_host 1
	run kv_host 2 --node-name "$NODE_1"
	[ "$status" -ne 0 ]
	run cat "$DIR_2/shoald.log"
	[[ "$output" == *"node name \"$NODE_1\" is already registered"* ]]
	# a store under another prefix is another cluster: no mixing. The
	# first endpoint listed answers nothing: the client moves on.
	kv_host 2 --cluster-store "etcd://192.168.99.251:2379,$ETCD_IP:$ETCD_PORT/other/prefix"
	[ "$(hapi 2 GET /v1.41/info | head -n -1 | jq -r .Shoal.ClusterStore.Endpoint)" = "$ETCD_IP:$ETCD_PORT" ]
	ovl_create 1
	sleep 1
	run hs 2 network inspect ov
	[ "$status" -ne 0 ]
	[ "$(kv_keys /other/prefix/nodes/)" = "/other/prefix/nodes/$NODE_2" ]
}

@test "kv: a watch resuming from a compacted revision does a full resync" {
	KV_TTL=30s
	kv_up 2
	ovl_create 1
	wait_for 5 net_on 2 ov
	ep_connect 1 "$P-e1"
	local ip1 ip2 pid2 resyncs
	ip1=$(ep_ip "$P-e1")
	wait_for 5 in_map 2 "$ip1"
	resyncs=$(hapi 2 GET /v1.41/info | head -n -1 | jq -r .Shoal.ClusterStore.Resyncs)
	# host 2 frozen while etcd restarts (its watch stream breaks, unread),
	# then it misses an add and a remove, and the history is compacted
	pid2=$(cat "$DIR_2/shoald.pid")
	kill -STOP "$pid2"
	etcd_stop TERM
	etcd_start
	ep_connect 1 "$P-e1b"
	ip2=$(ep_ip "$P-e1b")
	hs 1 network disconnect ov --netns "$P-e1"
	local rev
	rev=$(etcdctl_ get -w json /shoal/v1/ | jq -r .header.revision)
	etcdctl_ compact "$rev"
	kill -CONT "$pid2"
	wait_for 15 in_map 2 "$ip2"
	wait_for 5 not_in_map 2 "$ip1"
	grep -q "compacted.*full resync" "$DIR_2/shoald.log"
	[ "$(hapi 2 GET /v1.41/info | head -n -1 | jq -r .Shoal.ClusterStore.Resyncs)" -gt "$resyncs" ]
	# and it keeps following the store afterwards
	hs 1 network disconnect ov --netns "$P-e1b"
	wait_for 5 not_in_map 2 "$ip2"
}

@test "kv: a node restarted while etcd is down keeps forwarding and registers when etcd is back" {
	kv_up 2
	ovl_create 1
	wait_for 5 net_on 2 ov
	ep_connect 1 "$P-e1"
	ep_connect 2 "$P-e2"
	local ip1 ip3
	ip1=$(ep_ip "$P-e1")
	wait_for 5 in_map 2 "$ip1"
	etcd_stop TERM
	# host 2 was registered before: it starts on its state and maps
	kv_host 2
	store_is 2 unreachable
	grep -q "registering node $NODE_2 in the background" "$DIR_2/shoald.log"
	in_map 2 "$ip1"
	pings "$P-e2" "$ip1"
	# a change while the store is down is refused with a clear error
	netns_add "$P-e2b"
	run hs 2 network connect ov --netns "$P-e2b"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cluster store"*"unreachable"* ]]
	etcd_start
	wait_for 15 store_is 2 healthy
	grep -q "node $NODE_2 registered" "$DIR_2/shoald.log"
	[ "$(kv_keys /shoal/v1/nodes/ | grep -c "$NODE_2")" -eq 1 ]
	ep_connect 1 "$P-e1b"
	ip3=$(ep_ip "$P-e1b")
	wait_for 10 in_map 2 "$ip3"
	hs 2 network connect ov --netns "$P-e2b" >/dev/null
	wait_for 10 in_map 1 "$(ep_ip "$P-e2b")"
}
