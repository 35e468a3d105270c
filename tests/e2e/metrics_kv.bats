#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# metrics_kv.bats - GET /metrics of a node whose discovery goes through an
# external key-value store (a real etcd started by the test, as kv.bats
# does): the key-value counters are exported, the exposition stays valid
# for promtool, and a restart keeps the counters monotonic.

load kv_helpers

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	etcd_available || skip "etcd/etcdctl not installed (Debian etcd-server, etcd-client: make deps)"
	command -v promtool >/dev/null || skip "promtool not installed (make deps installs prometheus)"
}

teardown() {
	hosts_teardown
}

metrics_of() { curl -sf --unix-socket "$(sock_of "$1")" http://localhost/metrics; }
value() { sed -n "s/^$1{[^}]*} //p"; }

@test "metrics in etcd mode: kv counters, health and nodes; valid; monotonic over a restart" {
	kv_up 2
	ovl_create 1
	wait_for 5 net_on 2 ov
	ep_connect 2 "$P-e2"
	m=$(metrics_of 1)
	promtool check metrics <<<"$m"
	[ "$(value shoal_kv_healthy <<<"$m")" -eq 1 ]
	[ "$(value shoal_kv_nodes <<<"$m")" -eq 2 ]
	ev=$(value shoal_kv_events_total <<<"$m")
	[ "$ev" -ge 1 ]
	grep -q '^# TYPE shoal_kv_events_total counter$' <<<"$m"
	kv_host 1
	wait_for 10 bash -c "curl -sf --unix-socket '$(sock_of 1)' http://localhost/metrics | grep -q '^shoal_kv_healthy{.*} 1'"
	[ "$(metrics_of 1 | value shoal_kv_events_total)" -ge "$ev" ]
}
