#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/bench-kv.sh - `make bench`, part 5: discovery latency, cluster
# store (etcd) mode against gossip (swarm) mode, same run, one table.
# (tools/bench.sh runs it after parts 1-4; it also runs on its own.)
#
# Two hosts from tools/hosts.sh (network namespaces on a switch bridge).
# Per mode, on fresh hosts: an overlay network known to both, then
# KV_EPS endpoints connected one after the other on host A (`shoal
# network connect NET --netns NS`, the daemon picks the address), while
# build/shoal-bench-mapwatch polls host B's pinned `endpoints` map every
# 100 us. Latency of one endpoint = first sight of its key in B's map -
# the start of its `network connect` on A (CLOCK_REALTIME on both sides).
#
#   etcd    Debian's etcd-server in the switch namespace (temporary data
#           dir, on the bridge's address), both shoalds with
#           --cluster-store etcd://...: the endpoint key is created by the
#           allocation transaction, B's watch stream applies it
#   gossip  `swarm init` on A, `swarm join` on B, shoald's default gossip
#           timings (what a user gets): A's endpoint entry is broadcast
#   zk      (only when named in KV_MODES) Debian's ZooKeeper on the JRE in
#           the switch namespace, --cluster-store zk://...: B's watch is
#           ZooKeeper watches + a rescan of the prefix (user/kv/zk.c)
#
# Figures: p50 / p99 / max in ms over the KV_EPS endpoints, and how many
# never reached B within 10 s. Target: etcd p99 <= 50 ms.
#
# Usage: sudo tools/bench-kv.sh
# Env:   KV_EPS=200  KV_MODES="etcd gossip" (add zk for a ZooKeeper row)
#        RESULT_FILE=/tmp/shoal-bench-kv.<ts>.txt  the table is appended
#        KEEP_LOGS=0  SHOALD=build/shoald SHOAL=build/shoal
# Only namespaces, processes and the work dir this script creates are
# touched (processes by pid); all traffic stays in its namespaces.
# Exit status: 0 if both modes were measured, 1 otherwise.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
exec 3>&2
NL_LOG_FD=3
# shellcheck source=tools/lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=tools/lib/stats.sh
. "$HERE/lib/stats.sh"
log() { nl_log "bench-kv: $*"; }
die() { nl_die "bench-kv: $*"; }

KV_EPS=${KV_EPS:-200}
KV_MODES=${KV_MODES:-etcd gossip}
KEEP_LOGS=${KEEP_LOGS:-0}
SHOAL=${SHOAL:-$ROOT/build/shoal}
MAPWATCH=$ROOT/build/shoal-bench-mapwatch
TS=$(date +%Y%m%d-%H%M%S)
RESULT_FILE=${RESULT_FILE:-/tmp/shoal-bench-kv.$TS.txt}
[[ $KV_EPS =~ ^[0-9]+$ ]] && [ "$KV_EPS" -ge 1 ] && [ "$KV_EPS" -le 250 ] || die "KV_EPS must be 1..250"
[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$MAPWATCH" ] || die "$MAPWATCH not built (make bench builds it)"
command -v etcd >/dev/null || die "etcd not installed (Debian etcd-server: make deps)"

W=$(mktemp -d /tmp/shoal-bench-kv.XXXXXX)
PFX="bk$(basename "$W" | cut -c16- | tr -dc 'a-zA-Z0-9' | cut -c1-5)"
PIDS=()
NSS=()
HW=

cleanup() {
	local pid ns
	set +e
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$HW" ] && "$HERE/hosts.sh" down --workdir "$HW" 3>&- 2>/dev/null
	if [ "$KEEP_LOGS" = 1 ]; then log "logs kept in $W"; else rm -rf --one-file-system "$W"; fi
}
trap cleanup EXIT

ETCD_IP=192.168.99.250
hs() { local k=$1; shift; "$SHOAL" -H "unix://$HW/h$k/shoal.sock" "$@"; }

# hosts_fresh MODE: two new hosts (no daemons yet).
hosts_fresh() {
	[ -n "$HW" ] && "$HERE/hosts.sh" down --workdir "$HW" 3>&-
	HW=$W/hosts-$1
	"$HERE/hosts.sh" up 2 --prefix "$PFX${1:0:1}" --workdir "$HW" --no-shoald 3>&-
	eval "$("$HERE/hosts.sh" env --workdir "$HW")"
}

start_etcd() {
	ip -n "$SWITCH_NS" addr add "$ETCD_IP/24" dev br0
	ip netns exec "$SWITCH_NS" etcd --name bench --data-dir "$W/etcd" \
		--listen-client-urls "http://$ETCD_IP:2379" --advertise-client-urls "http://$ETCD_IP:2379" \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster bench=http://127.0.0.1:2380 --log-level warn \
		</dev/null >"$W/etcd.log" 2>&1 3>&- &
	PIDS+=($!)
	local end=$((SECONDS + 20))
	while [ "$SECONDS" -lt "$end" ]; do
		ip netns exec "$SWITCH_NS" env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s \
			--endpoints "http://$ETCD_IP:2379" endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "etcd did not start (log: $W/etcd.log)"
}

# measure MODE: connect KV_EPS endpoints on host 1, watch host 2's map.
# Leaves "ip latency_ms" lines in $W/lat.MODE.
measure() {
	local mode=$1 i ns vni ip t0 t
	for i in $(seq 1 50); do hs 2 network inspect bench >/dev/null 2>&1 && break; sleep 0.1; done
	hs 2 network inspect bench >/dev/null || die "$mode: host 2 never learnt the network"
	vni=$(hs 1 network inspect bench | jq -r '.[0].Options["com.docker.network.driver.overlay.vxlanid_list"]')
	"$MAPWATCH" "$BPFFS_2/shoal/$NODE_2/endpoints" "$vni" >"$W/seen.$mode" 2>"$W/mapwatch.$mode.log" &
	local mw=$!
	PIDS+=("$mw")
	sleep 0.2
	: >"$W/start.$mode"
	for i in $(seq 1 "$KV_EPS"); do
		ns=$PFX-$mode-$i
		NSS+=("$ns")
		ip netns add "$ns"
		t0=$(date +%s%N)
		hs 1 network connect bench --netns "$ns" >/dev/null
		ip=$(ip -n "$ns" -4 -j addr show dev eth0 | jq -r '.[0].addr_info[0].local')
		echo "$ip $t0" >>"$W/start.$mode"
	done
	# until every endpoint is seen, or 10 s
	for i in $(seq 1 100); do
		[ "$(awk '$2 > 0' "$W/seen.$mode" | wc -l)" -ge "$KV_EPS" ] && break
		sleep 0.1
	done
	kill "$mw" 2>/dev/null || true
	wait "$mw" 2>/dev/null || true
	awk 'NR == FNR { seen[$1] = $2; next }
	     { t = ($1 in seen) ? seen[$1] : 0; if (t > 0) printf "%s %.3f\n", $1, (t - $2) / 1e6; else print $1, "NA" }' \
		"$W/seen.$mode" "$W/start.$mode" >"$W/lat.$mode"
}

run_etcd() {
	hosts_fresh etcd
	start_etcd
	local k
	for k in 1 2; do
		"$HERE/hosts.sh" restart --workdir "$HW" "$k" --cluster-store "etcd://$ETCD_IP:2379" \
			--cluster-advertise "$(eval echo "\$UNDERLAY_IP_$k"):2376" 3>&-
	done
	hs 1 network create -d overlay --subnet 10.0.200.0/24 bench >/dev/null
	measure etcd
}

run_zk() {
	local jar=/usr/share/java/zookeeper.jar k
	[ -f "$jar" ] && command -v java >/dev/null || { log "zk: no ZooKeeper/JRE here: skipped"; return 1; }
	hosts_fresh zk
	ip -n "$SWITCH_NS" addr add "$ETCD_IP/24" dev br0
	mkdir -p "$W/zk/data"
	printf '%s\n' tickTime=500 "dataDir=$W/zk/data" clientPort=2181 "clientPortAddress=$ETCD_IP" \
		maxClientCnxns=200 admin.enableServer=false 4lw.commands.whitelist=ruok >"$W/zk/zoo.cfg"
	ip netns exec "$SWITCH_NS" java -Xmx256m -cp "$jar" org.apache.zookeeper.server.ZooKeeperServerMain \
		"$W/zk/zoo.cfg" </dev/null >"$W/zk.log" 2>&1 3>&- &
	PIDS+=($!)
	local end=$((SECONDS + 30)) up=0
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(echo ruok | timeout 3 ip netns exec "$SWITCH_NS" nc -q1 -w2 "$ETCD_IP" 2181 2>/dev/null)" = imok ] &&
			{ up=1; break; }
		sleep 0.1
	done
	[ "$up" = 1 ] || { log "zk: ZooKeeper did not start (log: $W/zk.log)"; return 1; }
	for k in 1 2; do
		"$HERE/hosts.sh" restart --workdir "$HW" "$k" --cluster-store "zk://$ETCD_IP:2181" \
			--cluster-advertise "$(eval echo "\$UNDERLAY_IP_$k"):2376" 3>&-
	done
	hs 1 network create -d overlay --subnet 10.0.200.0/24 bench >/dev/null
	measure zk
}

run_gossip() {
	hosts_fresh gossip
	local k
	for k in 1 2; do "$HERE/hosts.sh" start --workdir "$HW" "$k" 3>&-; done
	hs 1 swarm init --advertise-addr "$UNDERLAY_IP_1" >/dev/null
	hs 2 swarm join --token "$(hs 1 swarm join-token -q worker)" --advertise-addr "$UNDERLAY_IP_2" \
		"$UNDERLAY_IP_1:2377" >/dev/null
	hs 1 network create -d overlay --subnet 10.0.200.0/24 --attachable bench >/dev/null
	measure gossip
}

rc=0
for m in $KV_MODES; do
	case $m in
	etcd) log "etcd mode: $KV_EPS endpoints"; run_etcd || rc=1 ;;
	gossip) log "gossip mode: $KV_EPS endpoints"; run_gossip || rc=1 ;;
	zk) log "zk mode: $KV_EPS endpoints"; run_zk || rc=1 ;;
	*) die "KV_MODES: unknown mode $m (etcd, gossip, zk)" ;;
	esac
done

{
	echo
	echo "Part 5: discovery latency, network connect on host A -> key in host B's endpoints map"
	echo "($KV_EPS endpoints connected one after the other; 2 hosts in network namespaces; $(nproc) CPUs)"
	printf '%-8s %10s %10s %10s %8s\n' mode "p50 ms" "p99 ms" "max ms" missed
	for m in $KV_MODES; do
		if [ ! -s "$W/lat.$m" ]; then
			printf '%-8s %10s %10s %10s %8s\n' "$m" NA NA NA NA
			rc=1
			continue
		fi
		mapfile -t v < <(awk '{print $2}' "$W/lat.$m")
		printf '%-8s %10s %10s %10s %8s\n' "$m" "$(pctl 50 "${v[@]}")" "$(pctl 99 "${v[@]}")" \
			"$(pctl 100 "${v[@]}")" "$(grep -c ' NA$' "$W/lat.$m" || true)"
	done
	echo "target: etcd p99 <= 50 ms"
} | tee -a "$RESULT_FILE"
log "table appended to $RESULT_FILE"
exit "$rc"
