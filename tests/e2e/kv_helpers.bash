# SPDX-License-Identifier: Apache-2.0
# kv_helpers.bash - cluster-store (etcd) mode on top of swarm_helpers.bash
# (which loads hosts_helpers.bash): N hosts from tools/hosts.sh, and a
# real etcd (Debian's etcd-server) started by the test inside the switch
# namespace, on an address of the switch bridge, so every host reaches it
# over its underlay and nothing leaves the test namespaces. Its data dir
# is under $W; its pid goes to $W/pids, so hosts_teardown kills it (by
# pid) even after a failure.

load swarm_helpers

ETCD_IP=192.168.99.250
ETCD_PORT=2379
KV_TTL=3s

etcd_available() { command -v etcd >/dev/null && command -v etcdctl >/dev/null; }

# etcd_start: etcd in $SWITCH_NS on $ETCD_IP:$ETCD_PORT, data in $W/etcd.
etcd_start() {
	ip -n "$SWITCH_NS" addr show dev br0 | grep -qF "$ETCD_IP/" ||
		ip -n "$SWITCH_NS" addr add "$ETCD_IP/24" dev br0
	bg "$SWITCH_NS" "$W/etcd.log" etcd --name kvtest --data-dir "$W/etcd" \
		--listen-client-urls "http://$ETCD_IP:$ETCD_PORT" \
		--advertise-client-urls "http://$ETCD_IP:$ETCD_PORT" \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster kvtest=http://127.0.0.1:2380 --log-level warn
	ETCD_PID=$BG_PID
	wait_listen "$SWITCH_NS" "$ETCD_PORT"
	local end=$((SECONDS + 20))
	while [ "$SECONDS" -lt "$end" ]; do
		etcdctl_ endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "etcd did not become healthy" >&2
	cat "$W/etcd.log" >&2
	return 1
}

# etcd_stop [SIG]: stop the etcd this test started (by pid), wait for it.
etcd_stop() {
	kill -"${1:-TERM}" "$ETCD_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$ETCD_PID" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$ETCD_PID" 2>/dev/null || true
}

# etcdctl_ ARGS...: etcdctl (v3 API) against the test's etcd.
etcdctl_() {
	ip netns exec "$SWITCH_NS" env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s \
		--endpoints "http://$ETCD_IP:$ETCD_PORT" "$@"
}

KV_URL() { echo "etcd://$ETCD_IP:$ETCD_PORT${1:-}"; }

# kv_host K [EXTRA_SHOALD_ARGS...]: (re)start host K's shoald in etcd mode.
kv_host() {
	local k=$1; shift
	"$HOSTS" restart --workdir "$HW" "$k" --cluster-store "$(KV_URL)" \
		--cluster-advertise "$(uip_of "$k"):2376" --cluster-store-ttl "$KV_TTL" "$@" 3>&-
}

# kv_up N: N hosts in etcd mode sharing one etcd.
kv_up() {
	local n=$1 k
	hosts_setup "$n" --no-shoald
	etcd_start
	for ((k = 1; k <= n; k++)); do
		kv_host "$k"
	done
}

# kv_keys [PREFIX]: the keys under PREFIX (default /shoal/v1/), sorted, via etcdctl.
kv_keys() { etcdctl_ get --prefix --keys-only "${1:-/shoal/v1/}" | sed '/^$/d' | sort; }

# store_status K: "healthy"/"unreachable" from host K's `shoal info`.
store_status() {
	hapi "$1" GET /v1.41/info | head -n -1 | jq -r '.Shoal.ClusterStore.Status'
}
store_is() { [ "$(store_status "$1")" = "$2" ]; }

# map_has_all K FILE: every IP listed in FILE is in host K's endpoints map.
map_has_all() {
	local missing
	missing=$(comm -23 <(sort -u "$2") <(map_ips "$1" | sort -u) | wc -l)
	[ "$missing" -eq 0 ] && return 0
	echo "host $1 lacks $missing of the addresses"
	return 1
}

# store_lacks PATTERN: no key under /shoal/v1/ contains PATTERN.
store_lacks() { ! kv_keys | grep -qF "$1"; }
not_net_on() { ! net_on "$@"; }

# ZooKeeper (Debian's zookeeper, run by the test with the JRE): the same
# place as etcd (switch namespace, bridge address), tickTime 500 ms so a
# session can time out in a few seconds. Logging goes nowhere (no
# /etc/zookeeper/conf on the class path: nothing written outside $W).
ZK_PORT=2181
ZK_JAR=/usr/share/java/zookeeper.jar

# zk_unavailable: why a ZooKeeper server cannot run here ("" when it can).
zk_unavailable() {
	[ -f "$ZK_JAR" ] || { echo "no $ZK_JAR (Debian zookeeper: make deps)"; return; }
	command -v java >/dev/null || { echo "no java (Debian default-jre-headless: make deps)"; return; }
	java -version >/dev/null 2>&1 || { echo "java does not run here"; return; }
	echo ""
}

zk_start() {
	ip -n "$SWITCH_NS" addr show dev br0 | grep -qF "$ETCD_IP/" ||
		ip -n "$SWITCH_NS" addr add "$ETCD_IP/24" dev br0
	mkdir -p "$W/zk/data"
	cat >"$W/zk/zoo.cfg" <<-CFG
		tickTime=500
		dataDir=$W/zk/data
		clientPort=$ZK_PORT
		clientPortAddress=$ETCD_IP
		maxClientCnxns=200
		admin.enableServer=false
		4lw.commands.whitelist=ruok,srvr
	CFG
	bg "$SWITCH_NS" "$W/zk.log" java -Xmx256m -cp "$ZK_JAR" \
		org.apache.zookeeper.server.ZooKeeperServerMain "$W/zk/zoo.cfg"
	ZK_PID=$BG_PID
	# up to 30 s in all, each probe at most 3 s (a connection accepted
	# and never answered must not hang the test)
	local end=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(echo ruok | timeout 3 ip netns exec "$SWITCH_NS" nc -q1 -w2 "$ETCD_IP" "$ZK_PORT" 2>/dev/null)" = imok ] &&
			return 0
		sleep 0.1
	done
	echo "ZooKeeper did not start" >&2
	cat "$W/zk.log" >&2
	return 1
}

zk_stop() {
	kill -TERM "$ZK_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$ZK_PID" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$ZK_PID" 2>/dev/null || true
}

# zkcli CMD...: ZooKeeper's own CLI (Java, from the zookeeper package).
zkcli() {
	timeout 30 ip netns exec "$SWITCH_NS" java -cp "$ZK_JAR" org.apache.zookeeper.ZooKeeperMain \
		-server "$ETCD_IP:$ZK_PORT" "$@" 2>/dev/null
}

# zk_up N: N hosts whose shoalds use the test's ZooKeeper.
zk_up() {
	local n=$1 k
	hosts_setup "$n" --no-shoald
	zk_start
	KV_URL() { echo "zk://$ETCD_IP:$ZK_PORT${1:-}"; }
	for ((k = 1; k <= n; k++)); do
		kv_host "$k"
	done
}

# store_events K: watch events host K applied (shoal info).
store_events() { hapi "$1" GET /v1.41/info | head -n -1 | jq -r '.Shoal.ClusterStore.Events'; }
