# SPDX-License-Identifier: Apache-2.0
# obs_helpers.bash - shared by the observability and metrics bats files
# (after `load helpers` or `load hosts_helpers`).

# obs_endpoints C...: local network net1 (10.88.0.0/24) on the running
# shoald and, for each C, an endpoint namespace $P-C attached to it
# (`shoal network connect --netns`) with its neighbour entries steady.
obs_endpoints() {
	local c

	shoal network create --subnet 10.88.0.0/24 net1 >/dev/null
	for c in "$@"; do
		endpoint_ns "$P-$c"
		shoal network connect net1 --netns "$P-$c"
		steady_neigh "$P-$c"
	done
}

# udp_send NS IP PORT COUNT SIZE: COUNT datagrams of SIZE payload bytes,
# one write each (bash's /dev/udp: one connected socket, one source port).
udp_send() {
	ip netns exec "$1" bash -c 'exec 3>/dev/udp/$0/$1; for ((i = 0; i < $2; i++)); do printf "%*s" "$3" "" >&3; done' "$2" "$3" "$4" "$5"
}
