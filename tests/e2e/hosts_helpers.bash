# SPDX-License-Identifier: Apache-2.0
# hosts_helpers.bash - multi-host setup for the bats end-to-end tests, on
# top of tools/hosts.sh.
#
# hosts_setup N [UP_ARGS...] gives a test: a work dir $W, a unique prefix
# $P, N hosts ($NS_K, $SOCK_K, $UNDERLAY_IP_K, $NODE_K, $BPFFS_K: see
# `tools/hosts.sh env`), each running its own shoald; endpoint namespaces
# the test makes with ep_add are listed in $W/netns, background processes
# it starts with bg in $W/pids.  hosts_teardown removes all of it (pids,
# namespaces and what runs in them, then `tools/hosts.sh down`: daemons,
# host and switch namespaces, bpffs mounts), even after a failure.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HOSTS=${HOSTS:-$ROOT/tools/hosts.sh}
SHOAL_BIN=${SHOAL_BIN:-$ROOT/build/shoal}
export SHOALD=${SHOALD:-$ROOT/build/shoald} SHOAL=$SHOAL_BIN

OV_SUBNET=10.0.9.0/24
OV_VNI=4097

hosts_setup() {
	local n=$1; shift
	W=$(mktemp -d /tmp/shoal-mh.XXXXXX)
	P="m$(basename "$W" | cut -c10-)"
	P=${P//[^a-zA-Z0-9]/x}
	: >"$W/netns"; : >"$W/pids"
	HW=$W/hosts
	"$HOSTS" up "$n" --prefix "$P" --workdir "$HW" "$@" 3>&-
	eval "$("$HOSTS" env --workdir "$HW")"
}

hosts_teardown() {
	[ -n "${W:-}" ] && [ -d "$W" ] || return 0
	local pid ns
	if [ -s "$W/pids" ]; then
		while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$W/pids"
	fi
	if [ -s "$W/netns" ]; then
		# what still runs in our endpoint namespaces was started by this
		# test (children of the pids above, e.g. under timeout): by pid
		while read -r ns; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
			ip netns del "$ns" 2>/dev/null || true
		done <"$W/netns"
	fi
	"$HOSTS" down --workdir "$HW" 3>&- || true
	rm -rf --one-file-system "$W"
}

# ns_of K / sock_of K / uip_of K: per-host values from the harness env.
ns_of() { local v="NS_$1"; echo "${!v}"; }
sock_of() { local v="SOCK_$1"; echo "${!v}"; }
uip_of() { local v="UNDERLAY_IP_$1"; echo "${!v}"; }

# hs K ARGS...: the CLI against host K.
hs() {
	local k=$1; shift
	"$SHOAL_BIN" -H "unix://$(sock_of "$k")" "$@"
}

# hapi K METHOD PATH [BODY]: raw API call; body, then a line "HTTP <code>".
hapi() {
	local k=$1 data=(); shift
	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-binary "$3")
	curl -s --unix-socket "$(sock_of "$k")" -X "$1" "${data[@]}" -w '\nHTTP %{http_code}\n' \
		"http://localhost$2"
}

# in_h K CMD...: run CMD in host K's network namespace.
in_h() { local k=$1; shift; ip netns exec "$(ns_of "$k")" "$@"; }

# ovl_create K [ARGS...]: the test overlay "ov" (10.0.9.0/24, VNI 4097) on host K.
ovl_create() {
	local k=$1; shift
	hs "$k" network create -d overlay --subnet "$OV_SUBNET" --opt vni=$OV_VNI "$@" ov >/dev/null
}

netns_add() {
	ip netns add "$1"
	echo "$1" >>"$W/netns"
	ip -n "$1" link set lo up
}

# ep_add K NS IP [NET]: endpoint namespace NS on host K, connected to NET
# (default ov) with address IP; its neighbour entries stay REACHABLE.
ep_add() {
	netns_add "$2"
	hs "$1" network connect "${4:-ov}" --netns "$2" --ip "$3"
	ip netns exec "$2" sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=600000
}

# ep_mac NS: MAC of eth0 in NS.
ep_mac() { ip -n "$1" -j link show dev eth0 | jq -r '.[0].address'; }

# peer_add K NET IP MAC NODE_IP: program a remote endpoint on host K
# (the CLI's `network peer add`; the raw API if this CLI predates it).
peer_add() {
	local k=$1 net=$2 ip=$3 mac=$4 node=$5 out
	if "$SHOAL_BIN" network peer --help >/dev/null 2>&1; then
		hs "$k" network peer add "$net" --ip "$ip" ${mac:+--mac "$mac"} --node "$node"
	else
		out=$(hapi "$k" POST "/v1.41/networks/$net/peers" \
			"$(jq -cn --arg i "$ip" --arg m "$mac" --arg n "$node" \
				'{IPv4Address: $i, MacAddress: $m, Node: $n}')")
		echo "$out" | head -n -1 | jq -r '.message // .EndpointID' 2>/dev/null || echo "$out"
		[[ "$(echo "$out" | tail -n 1)" == "HTTP 2"* ]]
	fi
}

peer_rm() {
	local k=$1 net=$2 ip=$3
	if "$SHOAL_BIN" network peer --help >/dev/null 2>&1; then
		hs "$k" network peer rm "$net" "$ip"
	else
		[[ "$(hapi "$k" DELETE "/v1.41/networks/$net/peers/$ip" | tail -n 1)" == "HTTP 2"* ]]
	fi
}

# peers_json K NET: the peers of NET on host K, as a JSON array.
peers_json() { hapi "$1" GET "/v1.41/networks/$2/peers" | head -n -1; }

# mesh K1:NS1:IP1 K2:NS2:IP2 ...: on every host, a peer for every endpoint
# of every other host.
mesh() {
	local a b ka kb nsb ipb
	for a in "$@"; do
		IFS=: read -r ka _ <<<"$a"
		for b in "$@"; do
			IFS=: read -r kb nsb ipb <<<"$b"
			[ "$ka" = "$kb" ] && continue
			peer_add "$ka" ov "$ipb" "$(ep_mac "$nsb")" "$(uip_of "$kb")" >/dev/null
		done
	done
}

# Counters.  stats_json K: GET /endpoints/stats of host K.
stats_json() { hapi "$1" GET /v1.41/endpoints/stats | head -n -1; }

# node_stat K JQ_PATH: a node counter of host K, e.g. .RxVxlanPackets, .Drops.unknown_vni
node_stat() { stats_json "$1" | jq -r ".Node$2"; }

# ep_stat K NAME FIELD: endpoint counter from `shoal stats --no-stream --format json`.
ep_stat() {
	hs "$1" stats --no-stream --format json | jq -r --arg n "$2" --arg f "$3" \
		'(if type == "array" then . else .Endpoints end)[] | select(.Name == $n) | .[$f]'
}

# map_count K MAP: entries in one of host K's pinned maps.
map_count() {
	local b="BPFFS_$1" n="NODE_$1"
	bpftool -j map dump pinned "${!b}/shoal/${!n}/$2" | jq 'length'
}

# bg NS LOG CMD...: CMD in netns NS in the background (stdio to LOG, fd 3
# closed for bats), pid recorded for teardown and left in BG_PID.
bg() {
	local ns=$1 log=$2; shift 2
	ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$W/pids"
}

# wait_listen NS PORT: until something listens on TCP PORT in NS (5 s).
wait_listen() {
	for _ in $(seq 1 50); do
		ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "nothing listens on port $2 in $1" >&2
	return 1
}

# sha_transfer SRC_NS DST_NS DST_IP BYTES: send BYTES of random data from
# SRC_NS to DST_IP:5001 (nc listening in DST_NS); succeeds if the SHA-256
# of what arrived equals that of what was sent.
sha_transfer() {
	local src=$1 dst=$2 ip=$3 bytes=$4
	if ! nc -h 2>&1 | grep -q OpenBSD; then
		echo "sha_transfer needs OpenBSD netcat (Debian package netcat-openbsd: make deps)" >&2
		return 1
	fi
	rm -f "$W/sent.sha" "$W/recv.sha"
	bg "$dst" "$W/nc-recv.log" bash -c "timeout 90 nc -l -p 5001 | sha256sum > '$W/recv.sha'"
	local rpid=$BG_PID
	wait_listen "$dst" 5001
	head -c "$bytes" /dev/urandom | tee >(sha256sum >"$W/sent.sha") |
		ip netns exec "$src" timeout 60 nc -N "$ip" 5001
	wait "$rpid"
	for _ in $(seq 1 50); do
		[ "$(wc -c 2>/dev/null <"$W/sent.sha" || echo 0)" -ge 64 ] && break
		sleep 0.1
	done
	echo "sent $(cut -c1-16 "$W/sent.sha") received $(cut -c1-16 "$W/recv.sha")"
	[ -s "$W/recv.sha" ] && [ "$(cut -d' ' -f1 "$W/sent.sha")" = "$(cut -d' ' -f1 "$W/recv.sha")" ]
}

# iperf_run SRC_NS DST_NS DST_IP OUT.json IPERF_CLIENT_ARGS...: one iperf3
# client run against a one-shot server in DST_NS.
iperf_run() {
	local src=$1 dst=$2 ip=$3 out=$4; shift 4
	bg "$dst" "$out.server" timeout 90 iperf3 -s -1 -B "$ip"
	wait_listen "$dst" 5201
	ip netns exec "$src" timeout 60 iperf3 -c "$ip" -J "$@" >"$out" 3>&-
}
