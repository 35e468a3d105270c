#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Published ports and masquerade end to end: shoald in its namespace
# ($HOSTNS) with an "external" interface ext0 (192.168.77.1/24) joined by
# a veth to a client namespace (192.168.77.2, no route to any container
# subnet), an endpoint namespace on net1 (10.88.0.0/24) as the container.
# The bindings are written into the pinned ports map with bpftool, the
# way ports_publish() writes them (there is no non-Docker API route for
# it); containers with -p are tested once `shoal run` exists.

load helpers

setup() {
	e2e_setup
	CLIENT=$P-cl
	netns_add "$CLIENT"
	ip link add ext0 netns "$HOSTNS" type veth peer name eth0 netns "$CLIENT"
	ip -n "$HOSTNS" addr add 192.168.77.1/24 dev ext0
	ip -n "$HOSTNS" link set ext0 up
	ip -n "$CLIENT" addr add 192.168.77.2/24 dev eth0
	ip -n "$CLIENT" link set eth0 up
	start_shoald
	shoal network create --subnet 10.88.0.0/24 net1 >/dev/null
	endpoint_ns "$P-c1"
	shoal network connect net1 --netns "$P-c1"
	CIP=$(ip -n "$P-c1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
	VETH_IFX=$(ip -n "$HOSTNS" -o link show | awk -F': ' '$2 ~ /^shl/ {print $1}' | head -1)
}

teardown() {
	[ -z "${W:-}" ] || [ ! -S "$W/shoal.sock" ] || ctr_cleanup
	e2e_teardown
}

# bytes of a little-endian u32 / big-endian u16 / IPv4 for bpftool.
le32() { printf '%d %d %d %d' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
be16() { printf '%d %d' $(($1 >> 8 & 255)) $(($1 & 255)); }
ip4() { echo "$1" | tr . ' '; }

# publish HOST_IP HOST_PORT PROTO(6|17) CTR_IP CTR_PORT IFINDEX
publish() {
	# shellcheck disable=SC2046
	bpftool map update pinned "$W/bpffs/shoal/$NODE/ports" \
		key $(ip4 "$1") $(be16 "$2") "$3" 0 \
		value $(ip4 "$4") $(be16 "$5") 0 0 $(le32 "$6")
}

# Run a server in the endpoint namespace, its pid recorded for teardown.
serve_in() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	echo $! >> "$W/pids"
}

# file_is FILE TEXT: FILE holds TEXT, within 2 s (a server's nc may still be
# writing what it received when the client side returns).
file_is() {
	local _
	for _ in $(seq 1 20); do [ "$(cat "$1")" = "$2" ] && return 0; sleep 0.1; done
	echo "$1 holds '$(cat "$1")', want '$2'"
	return 1
}

# tcp_ping ADDR RUNNER...: a one-shot server on port 80 in $P-c1 answers
# "pong"; RUNNER... (ip netns exec NS, in_host) sends "ping" to ADDR:8080;
# both ends checked.
tcp_ping() {
	local addr=$1; shift
	serve_in "$P-c1" sh -c "echo pong | exec nc -N -l 80 > '$W/srv.out'"
	sleep 0.3
	run "$@" sh -c "echo ping | nc -N -w 5 $addr 8080"
	[ "$status" -eq 0 ]
	[ "$output" = pong ]
	file_is "$W/srv.out" ping
}

node_stat() {
	bpftool -j map dump pinned "$W/bpffs/shoal/$NODE/node_stats" |
		jq --arg f "$1" '[.[0].formatted.values[].value[$f]] | add'
}

@test "from_external sits on ext0 only; shoal's own devices and lo are left alone" {
	run in_host tc filter show dev ext0 ingress
	[[ "$output" == *"from_external"* ]]
	run in_host tc filter show dev shoal0 ingress
	[[ "$output" != *"from_external"* ]]
	run in_host tc filter show dev lo ingress
	[[ "$output" != *"from_external"* ]]
	[ "$(in_host cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	[ "$(map_count ext_ifaces)" -eq 1 ]
	[ "$(map_count host_addrs)" -eq 1 ]
}

@test "publish-interfaces: restricts the list, sweeps what left it; unknown names stop start-up" {
	ip -n "$HOSTNS" link add ext1 type veth peer name ext1p
	ip -n "$HOSTNS" addr add 192.168.78.1/24 dev ext1
	ip -n "$HOSTNS" link set ext1 up
	stop_shoald
	start_shoald
	in_host tc filter show dev ext1 ingress | grep -q from_external
	[ "$(map_count ext_ifaces)" -eq 2 ]
	stop_shoald
	start_shoald --publish-interfaces ext1
	in_host tc filter show dev ext1 ingress | grep -q from_external
	run in_host tc filter show dev ext0 ingress
	[[ "$output" != *"from_external"* ]]
	[ "$(map_count ext_ifaces)" -eq 1 ]
	[ "$(map_count host_addrs)" -eq 1 ]
	stop_shoald
	run start_shoald --publish-interfaces ext0,nosuch9
	[ "$status" -ne 0 ]
	grep -q "publish-interfaces: no interface nosuch9" "$W/shoald.log"
}

@test "published TCP port: the client reaches the endpoint through 192.168.77.1:8080" {
	publish 0.0.0.0 8080 6 "$CIP" 80 "$VETH_IFX"
	tcp_ping 192.168.77.1 ip netns exec "$CLIENT"
	# A restarted shoald keeps the data path (pinned maps, filters).
	stop_shoald
	start_shoald
	serve_in "$P-c1" sh -c "echo pong2 | exec nc -N -l 80 > '$W/srv.out'"
	sleep 0.3
	run ip netns exec "$CLIENT" sh -c 'echo ping2 | nc -N -w 5 192.168.77.1 8080'
	[ "$output" = pong2 ]
	# The container saw the client's real address (no SNAT on the way in).
	[ "$(map_count nat_ct)" -ge 1 ]
	bpftool -j map dump pinned "$W/bpffs/shoal/$NODE/nat_ct" | jq -e \
		--arg s "$(printf '0x%02x' ${CIP##*.})" '.[] | select(.key[3] == $s and .key[7] == "0x02")' >/dev/null
	[ "$(node_stat nat_dnat_packets)" -ge 3 ]
	[ "$(node_stat nat_revdnat_packets)" -ge 2 ]
	# the same counters through the API: info and Prometheus
	info=$(curl -s --unix-socket "$W/shoal.sock" http://localhost/info)
	[ "$(echo "$info" | jq .Shoal.NodeStats.NatDnatPackets)" -eq "$(node_stat nat_dnat_packets)" ]
	[ "$(echo "$info" | jq .Shoal.IPMasq)" = true ]
	curl -s --unix-socket "$W/shoal.sock" http://localhost/metrics |
		grep -Eq '^shoal_node_nat_dnat_packets_total\{node="'"$NODE"'"\} [1-9]'
}

@test "bulk: 64 MiB through a published port arrive intact (GSO, offloaded checksums)" {
	publish 0.0.0.0 8080 6 "$CIP" 80 "$VETH_IFX"
	head -c 67108864 /dev/urandom > "$W/blob"
	serve_in "$P-c1" sh -c "exec nc -l 80 > '$W/recv'"
	sleep 0.3
	ip netns exec "$CLIENT" timeout 60 nc -N 192.168.77.1 8080 < "$W/blob"
	for _ in $(seq 1 50); do
		[ "$(stat -c %s "$W/recv")" -ge 67108864 ] && break
		sleep 0.1
	done
	[ "$(sha256sum < "$W/recv")" = "$(sha256sum < "$W/blob")" ]
	# and back: the container sends, through the reverse translation
	serve_in "$P-c1" sh -c "exec nc -N -l 80 < '$W/blob'"
	sleep 0.3
	ip netns exec "$CLIENT" timeout 60 nc -d 192.168.77.1 8080 > "$W/recv2"
	[ "$(sha256sum < "$W/recv2")" = "$(sha256sum < "$W/blob")" ]
}

@test "published UDP port: request in, answer back from the published address" {
	publish 0.0.0.0 5353 17 "$CIP" 53 "$VETH_IFX"
	# nc -u -l answers the sender of the first datagram with its stdin.
	serve_in "$P-c1" sh -c "(sleep 1; echo pong) | exec nc -u -l 53 > '$W/srv.out'"
	sleep 0.3
	run ip netns exec "$CLIENT" sh -c '(echo ping; sleep 2) | nc -u -w 3 192.168.77.1 5353'
	[ "$output" = pong ]
	file_is "$W/srv.out" ping
	[ "$(node_stat nat_dnat_packets)" -ge 1 ]
	[ "$(node_stat nat_revdnat_packets)" -ge 1 ]
}

@test "host-local clients: 127.0.0.1 and the host's address reach the port (socket hooks)" {
	publish 0.0.0.0 8080 6 "$CIP" 80 "$VETH_IFX"
	publish 0.0.0.0 5353 17 "$CIP" 53 "$VETH_IFX"
	[ -e "$W/bpffs/shoal/$NODE/link_sock_connect4" ]
	for addr in 127.0.0.1 192.168.77.1; do
		tcp_ping "$addr" in_host
	done
	# UDP: nc -u connect()s, so connect4 points the socket at the container.
	serve_in "$P-c1" sh -c "(sleep 1; echo pong) | exec nc -u -l 53 > '$W/srv.out'"
	sleep 0.3
	run in_host sh -c '(echo ping; sleep 2) | nc -u -w 3 127.0.0.1 5353'
	[ "$output" = pong ]
	# Scoped to shoald's namespace: the client namespace's own loopback
	# is not redirected (nothing listens there).
	run ip netns exec "$CLIENT" nc -z -w 2 127.0.0.1 8080
	[ "$status" -ne 0 ]
}

@test "hairpin: containers reach a published port through the host's address" {
	publish 0.0.0.0 8080 6 "$CIP" 80 "$VETH_IFX"
	endpoint_ns "$P-c2"
	shoal network connect net1 --netns "$P-c2"
	# another container, then the published container itself
	for ns in "$P-c2" "$P-c1"; do
		tcp_ping 192.168.77.1 ip netns exec "$ns"
	done
	[ "$(node_stat nat_dnat_packets)" -eq 0 ]
	[ "$(node_stat nat_hairpin_packets)" -ge 6 ]
}

@test "an unpublished port goes to the host stack untouched" {
	publish 0.0.0.0 8080 6 "$CIP" 80 "$VETH_IFX"
	in_host sh -c 'exec nc -l 192.168.77.1 9090 > /dev/null' &
	echo $! >> "$W/pids"
	sleep 0.3
	run ip netns exec "$CLIENT" sh -c 'echo x | nc -N -w 3 192.168.77.1 9090'
	[ "$status" -eq 0 ]
	# nothing listens on 9091 on the host: refused, not swallowed
	run ip netns exec "$CLIENT" nc -z -w 2 192.168.77.1 9091
	[ "$status" -ne 0 ]
	[ "$(node_stat nat_dnat_packets)" -eq 0 ]
}

@test "masquerade: the endpoint reaches the client, which has no route back to it" {
	! ip -n "$CLIENT" route get 10.88.0.2 >/dev/null 2>&1 || false
	serve_in "$CLIENT" sh -c "echo pong | exec nc -N -l 7000 > '$W/cl.out'"
	sleep 0.3
	run ip netns exec "$P-c1" sh -c 'echo ping | nc -N -w 5 192.168.77.2 7000'
	[ "$status" -eq 0 ]
	[ "$output" = pong ]
	file_is "$W/cl.out" ping
	[ "$(node_stat nat_snat_packets)" -ge 3 ]
	[ "$(node_stat nat_revsnat_packets)" -ge 2 ]
	# ping too (ICMP echo, the identifier as the port)
	run ip netns exec "$P-c1" ping -c 2 -W 2 192.168.77.2
	[ "$status" -eq 0 ]
}

@test "--ip-masq=false: no masquerade, the client cannot answer" {
	stop_shoald
	start_shoald --ip-masq=false
	serve_in "$CLIENT" sh -c "exec nc -l 7000 > '$W/cl.out'"
	sleep 0.3
	run ip netns exec "$P-c1" nc -z -w 2 192.168.77.2 7000
	[ "$status" -ne 0 ]
	[ "$(node_stat nat_snat_packets)" -eq 0 ]
}

# ---- containers: shoal run -p / -P (the daemon's container code) ----------

IMAGE=shoal/busybox

# Load the test image (busybox-static comes with make deps).
need_containers() {
	"$ROOT/tools/mkimage.sh" -o "$W/img.tar" >/dev/null
	shoal load -i "$W/img.tar" >/dev/null
}

# HTTP server in a container answering "hello-from-NAME".
web() {
	local name=$1; shift
	shoal run -d --name "$name" "$@" "$IMAGE" sh -c \
		"mkdir -p /www && echo hello-from-$name > /www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

# get URL from the client namespace (retries while the server starts)
get() {
	local i
	for i in $(seq 1 30); do
		ip netns exec "$CLIENT" curl -s -m 2 "$1" && return 0
		sleep 0.1
	done
	return 1
}

ctr_cleanup() {
	local ids
	ids=$(shoal ps -aq 2>/dev/null) || return 0
	[ -z "$ids" ] || shoal rm -f $ids >/dev/null 2>&1 || true
}

@test "container: run -p 8080:80 (TCP) from the client, the host and 127.0.0.1; stop unpublishes" {
	need_containers
	web web1 -p 8080:80
	[ "$(shoal port web1 80)" = "0.0.0.0:8080" ]
	run get http://192.168.77.1:8080/
	[ "$output" = hello-from-web1 ]
	run in_host curl -s -m 2 http://127.0.0.1:8080/
	[ "$output" = hello-from-web1 ]
	run in_host curl -s -m 2 http://192.168.77.1:8080/
	[ "$output" = hello-from-web1 ]
	# the port is held on the host, as docker-proxy holds it
	run in_host timeout 2 nc -l 8080
	[ "$status" -eq 1 ]
	[[ "$output" == *"in use"* ]]
	[ "$(map_count ports)" -eq 1 ]
	shoal stop -t 1 web1 >/dev/null
	[ "$(map_count ports)" -eq 0 ]
	run ip netns exec "$CLIENT" curl -s -m 1 http://192.168.77.1:8080/
	[ "$status" -ne 0 ]
	shoal start web1 >/dev/null
	run get http://192.168.77.1:8080/
	[ "$output" = hello-from-web1 ]
	ctr_cleanup
}

@test "container: a taken port fails with Docker's message and programs nothing" {
	need_containers
	web web1 -p 8080:80
	run shoal run -d --name web2 -p 8081:80 -p 8080:80 "$IMAGE" sleep 30
	[ "$status" -eq 125 ]
	[[ "$output" == *"Bind for 0.0.0.0:8080 failed: port is already allocated"* ]]
	[ "$(map_count ports)" -eq 1 ]
	run ip netns exec "$CLIENT" curl -s -m 1 http://192.168.77.1:8081/
	[ "$status" -ne 0 ]
	# the same port on UDP, or on another address, is free
	shoal run -d --name web3 -p 8080:80/udp "$IMAGE" sleep 30 >/dev/null
	[ "$(map_count ports)" -eq 2 ]
	ctr_cleanup
	[ "$(map_count ports)" -eq 0 ]
}

@test "container: -P publishes the exposed ports on ephemeral host ports" {
	need_containers
	web webp -P --expose 80
	hp=$(shoal port webp 80/tcp | head -1 | cut -d: -f2)
	[ "$hp" -ge 32768 ] && [ "$hp" -le 60999 ]
	run get "http://192.168.77.1:$hp/"
	[ "$output" = hello-from-webp ]
	ctr_cleanup
}

@test "container: run -p 5353:53/udp answers the client from the published address" {
	need_containers
	# busybox has no UDP nc: the host's OpenBSD nc, run by the host's loader
	shoal run -d --name udp1 -p 5353:53/udp -v /usr:/host-usr:ro "$IMAGE" sh -c \
		'(sleep 2; echo pong) | /host-usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path /host-usr/lib/x86_64-linux-gnu /host-usr/bin/nc.openbsd -u -l 53' >/dev/null
	sleep 0.5
	run ip netns exec "$CLIENT" sh -c '(echo ping; sleep 3) | nc -u -w 4 192.168.77.1 5353'
	[ "$output" = pong ]
	run shoal logs udp1
	[ "$output" = ping ]
	ctr_cleanup
}

@test "container: published ports survive a shoald restart (ports_sync)" {
	need_containers
	web web1 -p 8080:80
	run get http://192.168.77.1:8080/
	[ "$output" = hello-from-web1 ]
	stop_shoald 9
	# the data path keeps serving without the daemon
	run get http://192.168.77.1:8080/
	[ "$output" = hello-from-web1 ]
	start_shoald
	run get http://192.168.77.1:8080/
	[ "$output" = hello-from-web1 ]
	# and the host hold is back
	run in_host timeout 2 nc -l 8080
	[ "$status" -eq 1 ]
	[[ "$output" == *"in use"* ]]
	ctr_cleanup
}

@test "container: -p 127.0.0.1:8081:80 and -p 192.168.77.1:8082:80 serve only that address" {
	need_containers
	web lo1 -p 127.0.0.1:8081:80
	web ext1 -p 192.168.77.1:8082:80
	[ "$(shoal port lo1 80)" = "127.0.0.1:8081" ]
	run in_host curl -s -m 2 http://127.0.0.1:8081/
	[ "$output" = hello-from-lo1 ]
	# loopback-only: the client reaching the host's address gets nothing
	run ip netns exec "$CLIENT" curl -s -m 1 http://192.168.77.1:8081/
	[ "$status" -ne 0 ]
	run get http://192.168.77.1:8082/
	[ "$output" = hello-from-ext1 ]
	run in_host curl -s -m 2 http://192.168.77.1:8082/
	[ "$output" = hello-from-ext1 ]
	run in_host curl -s -m 1 http://127.0.0.1:8082/
	[ "$status" -ne 0 ]
	# 0.0.0.0:8081 overlaps 127.0.0.1:8081
	run shoal run -d -p 8081:80 "$IMAGE" sleep 30
	[ "$status" -eq 125 ]
	[[ "$output" == *"Bind for 0.0.0.0:8081 failed: port is already allocated"* ]]
	# an address the host does not have: the proxy's error
	run shoal run -d -p 10.123.0.1:8083:80 "$IMAGE" sleep 30
	[ "$status" -eq 125 ]
	[[ "$output" == *"listen tcp4 10.123.0.1:8083: bind: cannot assign requested address"* ]]
	ctr_cleanup
}

@test "container: reaches the client outside its network through masquerade (TCP and ping)" {
	need_containers
	# busybox nc ends at the first EOF, of its stdin or of the connection:
	# the client answers (and closes) only once the container's line has
	# arrived, and the container's stdin stays open until then, so both
	# lines always cross whatever the scheduling
	serve_in "$CLIENT" sh -c "(for i in \$(seq 100); do [ -s '$W/cl.out' ] && break; sleep 0.05; done; echo from-client) | exec nc -N -l 7000 > '$W/cl.out'"
	sleep 0.3
	run shoal run --rm "$IMAGE" sh -c '(echo from-ctr; sleep 2) | nc 192.168.77.2 7000'
	[ "$status" -eq 0 ]
	[ "$output" = from-client ]
	file_is "$W/cl.out" from-ctr
	run shoal run --rm "$IMAGE" ping -c 2 -W 2 192.168.77.2
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 packets received"* ]]
	[ "$(node_stat nat_snat_packets)" -ge 4 ]
}

@test "container: an interface added after start is published on at the next publish" {
	need_containers
	ip link add ext2 netns "$HOSTNS" type veth peer name eth1 netns "$CLIENT"
	ip -n "$HOSTNS" addr add 192.168.76.1/24 dev ext2
	ip -n "$HOSTNS" link set ext2 up
	ip -n "$CLIENT" addr add 192.168.76.2/24 dev eth1
	ip -n "$CLIENT" link set eth1 up
	run in_host tc filter show dev ext2 ingress
	[[ "$output" != *"from_external"* ]]
	web late -p 8080:80
	in_host tc filter show dev ext2 ingress | grep -q from_external
	run get http://192.168.76.1:8080/
	[ "$output" = hello-from-late ]
	run get http://192.168.77.1:8080/
	[ "$output" = hello-from-late ]
	[ "$(map_count ext_ifaces)" -eq 2 ]
	ctr_cleanup
}
