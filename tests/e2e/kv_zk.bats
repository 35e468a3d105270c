#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kv_zk.bats - overlay discovery through ZooKeeper ("cluster-store":
# "zk://..."): a real ZooKeeper server (Debian's zookeeper on the JRE)
# started per test in the switch namespace, 3 hosts from tools/hosts.sh.
# Keys are checked with ZooKeeper's own CLI (ZooKeeperMain).

load kv_helpers

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	local why
	why=$(zk_unavailable)
	[ -z "$why" ] || skip "ZooKeeper server cannot run here: $why"
}

teardown() {
	hosts_teardown
}

@test "kv zk: 3 hosts learn a network and each other's endpoints; ephemeral znodes" {
	zk_up 3
	ovl_create 1
	wait_for 10 net_on 2 ov
	wait_for 10 net_on 3 ov
	local k ips=()
	for k in 1 2 3; do
		ep_connect "$k" "$P-e$k"
		ips+=("$(ep_ip "$P-e$k")")
	done
	[ "$(printf '%s\n' "${ips[@]}" | sort -u | wc -l)" -eq 3 ]
	wait_for 10 in_map 1 "${ips[1]}"
	wait_for 10 in_map 1 "${ips[2]}"
	wait_for 10 in_map 3 "${ips[0]}"
	pings "$P-e1" "${ips[1]}"
	pings "$P-e3" "${ips[0]}"
	run zkcli ls /shoal/v1/endpoints/ov
	echo "$output"
	for k in 0 1 2; do [[ "$output" == *"${ips[k]}"* ]]; done
	run zkcli get "/shoal/v1/endpoints/ov/${ips[1]}"
	[[ "$output" == *"\"Node\":\"$NODE_2\""* ]]
	run zkcli stat "/shoal/v1/nodes/$NODE_1"
	echo "$output"
	[[ "$output" =~ ephemeralOwner\ =\ 0x[0-9a-f]*[1-9a-f] ]]
	[ "$(hapi 1 GET /v1.41/info | head -n -1 | jq -r .Shoal.ClusterStore.Backend)" = zk ]
	store_is 1 healthy
	hs 3 network disconnect ov --netns "$P-e3"
	wait_for 10 not_in_map 1 "${ips[2]}"
	wait_for 10 not_in_map 2 "${ips[2]}"
}

@test "kv zk: a killed shoald's session expires and its endpoints leave the other maps" {
	zk_up 3
	ovl_create 1
	wait_for 10 net_on 3 ov
	local k ips=()
	for k in 1 2 3; do
		ep_connect "$k" "$P-e$k"
		ips+=("$(ep_ip "$P-e$k")")
	done
	wait_for 10 in_map 1 "${ips[2]}"
	wait_for 10 in_map 2 "${ips[2]}"
	"$HOSTS" kill --workdir "$HW" 3 KILL
	wait_for 20 not_in_map 1 "${ips[2]}"
	wait_for 10 not_in_map 2 "${ips[2]}"
	pings "$P-e1" "${ips[1]}"
	kv_host 3
	wait_for 15 in_map 1 "${ips[2]}"
	pings "$P-e1" "${ips[2]}"
}

@test "kv zk: 3 hosts allocating 20 addresses each at once get 60 distinct" {
	zk_up 3
	hs 1 network create -d overlay --subnet 10.0.61.0/24 big >/dev/null
	wait_for 10 net_on 2 big
	wait_for 10 net_on 3 big
	local k i pids=()
	for k in 1 2 3; do
		(
			for i in $(seq 1 20); do
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
	[ "$(wc -l <"$W/ips")" -eq 60 ]
	[ "$(sort -u "$W/ips" | wc -l)" -eq 60 ]
	for k in 1 2 3; do
		wait_for 15 map_has_all "$k" "$W/ips"
	done
}

@test "kv zk: ZooKeeper restarts: forwarding continues, state converges; unreachable: clear error" {
	zk_up 2
	ovl_create 1
	wait_for 10 net_on 2 ov
	ep_connect 1 "$P-e1"
	ep_connect 2 "$P-e2"
	local ip2
	ip2=$(ep_ip "$P-e2")
	wait_for 10 in_map 1 "$ip2"
	bg "$P-e1" "$W/ping.log" ping -c 60 -i 0.05 -W 1 "$ip2"
	local ppid=$BG_PID
	zk_stop
	wait_for 10 store_is 1 unreachable
	zk_start
	wait "$ppid" || true
	grep -q ' 60 received' "$W/ping.log"
	wait_for 20 store_is 1 healthy
	ep_connect 2 "$P-e2b"
	wait_for 15 in_map 1 "$(ep_ip "$P-e2b")"
	# nothing listens there: shoald refuses to start, naming the store
	run kv_host 2 --cluster-store "zk://$ETCD_IP:2399"
	[ "$status" -ne 0 ]
	run cat "$DIR_2/shoald.log"
	[[ "$output" == *"cluster store zk://$ETCD_IP:2399"*"unreachable"* ]]
}
