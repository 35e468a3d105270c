# SPDX-License-Identifier: Apache-2.0
# swarm_helpers.bash - swarm mode on top of hosts_helpers.bash: N hosts
# from tools/hosts.sh whose shoalds run with short gossip timings, a swarm
# made with the CLI (`swarm init` on host 1, `swarm join` on the others),
# and pollers for what gossip disseminates (membership, endpoints, keys).
#
# Everything a test makes is cleaned up by hosts_teardown: endpoint
# namespaces go through netns_add (listed in $W/netns), background
# processes through bg (listed in $W/pids).

load hosts_helpers

# Short gossip timings, so failures are detected in about a second:
# suspicion min = 4 * 200 ms, max = 6 * min.
GOSSIP_FAST=(--gossip-probe-interval 200ms --gossip-probe-timeout 100ms --gossip-interval 50ms)
# 1 ms-resolution wall clock, for the timings reported in the TAP output.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

note() { echo "# $*" >&3; }

# wait_for SECS CMD...: CMD every 0.1 s until it succeeds (0), or SECS
# seconds pass (1; CMD's last output goes to stderr).
wait_for() {
	local secs=$1 end; shift
	end=$(($(now_ms) + secs * 1000))
	while :; do
		if "$@" >"$W/wait_for.out" 2>&1; then
			return 0
		fi
		[ "$(now_ms)" -lt "$end" ] || break
		sleep 0.1
	done
	echo "still failing after ${secs}s: $*" >&2
	cat "$W/wait_for.out" >&2
	return 1
}

# swarm_hosts N [EXTRA_SHOALD_ARGS...]: N hosts, shoald with GOSSIP_FAST.
swarm_hosts() {
	local n=$1; shift
	hosts_setup "$n" -- "${GOSSIP_FAST[@]}" "$@"
}

# swarm_init: host 1 starts a swarm; WORKER_TOKEN is the worker join token.
swarm_init() {
	hs 1 swarm init --advertise-addr "$UNDERLAY_IP_1" >"$W/init.out"
	WORKER_TOKEN=$(hs 1 swarm join-token -q worker)
	[ -n "$WORKER_TOKEN" ]
}

# swarm_join K [TOKEN]: host K joins host 1's swarm.
swarm_join() {
	hs "$1" swarm join --token "${2:-$WORKER_TOKEN}" --advertise-addr "$(uip_of "$1")" \
		"$UNDERLAY_IP_1:2377"
}

# swarm_up N [EXTRA_SHOALD_ARGS...]: N hosts in one swarm (host 1 the
# manager), every host seeing every other alive.
swarm_up() {
	local n=$1 k
	swarm_hosts "$@"
	swarm_init
	for ((k = 2; k <= n; k++)); do
		swarm_join "$k" >/dev/null
	done
	for ((k = 1; k <= n; k++)); do
		wait_for 10 nodes_are "$k" "$(all_nodes "$n" "Ready alive")"
	done
}

# all_nodes N STATE: "NODE_1 STATE\n...NODE_N STATE", sorted as node_view sorts.
all_nodes() {
	local k v
	for ((k = 1; k <= $1; k++)); do
		v="NODE_$k"
		echo "${!v} $2"
	done | sort
}

# node_view K: "HOSTNAME STATUS GOSSIP" per node of `node ls` on host K, sorted.
node_view() {
	hs "$1" node ls --format json | jq -r '"\(.Hostname) \(.Status) \(.Gossip)"' | sort
}

# nodes_are K EXPECTED: node_view K is EXPECTED (prints it when not).
nodes_are() {
	local v
	v=$(node_view "$1") || return 1
	[ "$v" = "$2" ] && return 0
	echo "host $1 sees:"; echo "$v"
	return 1
}

# gossip_state K NODE: what host K's `node ls` says of NODE ("alive", ...,
# or "gone" when it is not listed).
gossip_state() {
	local s
	s=$(hs "$1" node ls --format json | jq -r --arg n "$2" 'select(.Hostname == $n) | .Gossip')
	echo "${s:-gone}"
}

# node_is K NODE STATUS GOSSIP: host K lists NODE with that STATUS and GOSSIP.
node_is() {
	local v
	v=$(hs "$1" node ls --format json | jq -r --arg n "$2" 'select(.Hostname == $n) | "\(.Status) \(.Gossip)"')
	[ "$v" = "$3 $4" ] && return 0
	echo "host $1 lists $2 as '$v', want '$3 $4'"
	return 1
}

# net_on K NET: network NET exists on host K (`network inspect` answers).
net_on() { hs "$1" network inspect "$2" >/dev/null; }

# ep_connect K NS [NET]: a new endpoint namespace NS on host K connected to
# NET (default ov) with an address the daemon picks; neighbours kept REACHABLE.
ep_connect() {
	netns_add "$2"
	hs "$1" network connect "${3:-ov}" --netns "$2"
	ip netns exec "$2" sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=600000
}

# ep_ip NS: IPv4 address of eth0 in NS.
ep_ip() { ip -n "$1" -4 -j addr show dev eth0 | jq -r '.[0].addr_info[0].local'; }

# ip_hex IP: "0a 00 09 02" (the bytes of IP as the maps' raw keys show them).
ip_hex() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '%02x %02x %02x %02x' "$a" "$b" "$c" "$d"
}

# map_ips K: the IPs in host K's endpoints map, one per line (any network).
map_ips() {
	local b="BPFFS_$1" n="NODE_$1"
	bpftool -j map dump pinned "${!b}/shoal/${!n}/endpoints" |
		jq -r '.[] | .key[4:8] | map(ltrimstr("0x") | ascii_downcase) | join(" ")' |
		while read -r a b2 c d; do printf '%d.%d.%d.%d\n' "0x$a" "0x$b2" "0x$c" "0x$d"; done
}

# in_map K IP / not_in_map K IP: whether IP is a key of host K's endpoints map.
in_map() { map_ips "$1" | grep -qxF "$2"; }
not_in_map() { ! in_map "$@"; }

# peer_ips K NET: sorted IPs of the remote endpoints (Peers) of NET on host K.
peer_ips() {
	hs "$1" network inspect "$2" | jq -r '.[0].Peers // [] | .[].IPv4Address | split("/")[0]' | sort
}

# peers_are K NET EXPECTED: peer_ips K NET is EXPECTED (newline-separated, sorted).
peers_are() {
	local v
	v=$(peer_ips "$1" "$2") || return 1
	[ "$v" = "$3" ] && return 0
	echo "host $1 peers of $2:"; echo "${v:-<none>}"; echo "want:"; echo "${3:-<none>}"
	return 1
}

# pings NS IP: one ping from NS to IP answered within a second.
pings() { ip netns exec "$1" ping -c 1 -W 1 "$2"; }

# decrypt_failures K: host K's count of gossip messages that failed to
# decrypt (a reject reason of GET /swarm/keys "Counters", also in /info
# "Shoal"."Gossip"); fails when the daemon reports no such counter.
decrypt_failures() {
	hapi "$1" GET /v1.41/swarm/keys | head -n -1 |
		jq -e '[.Counters | .. | objects | to_entries[] | select(.key | test("decrypt"; "i"))
			| .value | numbers] | if length == 1 then .[0] else error("no decrypt counter") end'
}

# primary_key K: fingerprint of host K's primary gossip key.
primary_key() { hs "$1" swarm keys --format '{{.Primary}} {{.Fingerprint}}' | awk '$1 == "*" {print $2}'; }

# primaries_agree K...: those hosts have the same primary key.
primaries_agree() {
	local k fps=()
	for k in "$@"; do fps+=("$(primary_key "$k")"); done
	printf '%s\n' "${fps[@]}"
	[ -n "${fps[0]}" ] && [ "$(printf '%s\n' "${fps[@]}" | sort -u | wc -l)" -eq 1 ]
}

# decrypts_above K N: host K counted more than N decrypt failures.
decrypts_above() { [ "$(decrypt_failures "$1")" -gt "$2" ]; }

# udp_garbage K IP: one datagram that looks sealed (version 1) but is not,
# from host K to IP's gossip port.
udp_garbage() {
	{ printf '\x01'; head -c 80 /dev/urandom; } >"$W/garbage.bin"
	in_h "$1" bash -c "cat '$W/garbage.bin' >/dev/udp/$2/7946"
}
