#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Prometheus exposition: GET /metrics on the API socket and on the
# --metrics-addr TCP listener, checked with promtool, counted against a
# known transfer, monotonic over a daemon restart, and scraped by a real
# Prometheus server (Debian's prometheus) queried through its HTTP API.
# Prometheus runs in the daemon's namespace on 127.0.0.1 (the listener
# lives there), with a temporary data dir; killed by pid in teardown.

load helpers
load obs_helpers

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

world() {
	start_shoald "$@"
	obs_endpoints c1 c2
	IP2=$(ip_of net1 "$P-c2")
	ip netns exec "$P-c1" ping -c 1 -W 2 "$IP2" >/dev/null   # ARP settled before counting
	ip netns exec "$P-c2" nc -ulk 5000 >/dev/null 2>&1 &
	echo $! >> "$W/pids"
	sleep 0.3
}

metrics() { curl -sf --unix-socket "$W/shoal.sock" http://localhost/metrics; }

# sample METRIC CONTAINER: the value of METRIC for container CONTAINER
sample() {
	metrics | grep "^$1{container=\"$2\"" | awk '{print $2}'
}

@test "GET /metrics: valid exposition (promtool), HELP/TYPE, labels, exact byte counts" {
	command -v promtool >/dev/null || skip "promtool not installed (make deps installs prometheus)"
	world
	rx0=$(sample shoal_container_rx_bytes_total "$P-c2")
	tx0=$(sample shoal_container_tx_packets_total "$P-c1")
	udp_send "$P-c1" "$IP2" 5000 1000 100
	[ $(( $(sample shoal_container_rx_bytes_total "$P-c2") - rx0 )) -eq $((1000 * 142)) ]
	[ $(( $(sample shoal_container_tx_packets_total "$P-c1") - tx0 )) -eq 1000 ]
	metrics > "$W/m.txt"
	promtool check metrics < "$W/m.txt"
	grep -q '^# HELP shoal_container_rx_bytes_total ' "$W/m.txt"
	grep -q '^# TYPE shoal_container_rx_bytes_total counter$' "$W/m.txt"
	grep -q '^# TYPE shoal_container_active_flows gauge$' "$W/m.txt"
	id=$(shoal network inspect net1 | jq -r --arg n "$P-c2" '.[0].Containers | to_entries[] | select(.value.Name == $n) | .value.EndpointID')
	grep -q "^shoal_container_rx_bytes_total{container=\"$P-c2\",id=\"$id\",network=\"net1\",node=\"$NODE\"} " "$W/m.txt"
	grep -q "^shoal_container_drops_total{container=\"$P-c1\",.*,reason=\"no_endpoint\"} 0$" "$W/m.txt"
	grep -q "^shoal_container_active_flows{container=\"$P-c1\".*} [1-9]" "$W/m.txt"
	grep -q "^shoal_flow_table_fill_ratio{node=\"$NODE\"} 0\.0" "$W/m.txt"
	grep -q "^shoal_flow_table_size{node=\"$NODE\"} 65536$" "$W/m.txt"
	grep -q "^shoal_gossip_udp_packets_in_total{node=\"$NODE\"} " "$W/m.txt"
	grep -q '^shoal_events_lost_total{.*cause="rate_limited"} ' "$W/m.txt"
	# content type of the text format; methods
	run curl -s -D - -o /dev/null --unix-socket "$W/shoal.sock" http://localhost/v1.41/metrics
	[[ "$output" == *"Content-Type: text/plain; version=0.0.4"* ]]
	run api POST /metrics '{}'
	[[ "$output" == *"HTTP 405"* ]]
}

@test "metrics counters are monotonic across a daemon restart (kill -9 included)" {
	world
	ip -n "$P-c1" neigh replace 10.88.0.77 lladdr 02:42:0a:58:00:4d dev eth0
	udp_send "$P-c1" 10.88.0.77 5000 5 10
	sleep 0.5
	m0=$(metrics)
	rx0=$(grep "^shoal_container_rx_bytes_total{container=\"$P-c2\"" <<<"$m0" | awk '{print $2}')
	ev0=$(grep '^shoal_events_read_total{.*type="drop"}' <<<"$m0" | awk '{print $2}')
	[ "$ev0" -ge 5 ]
	stop_shoald 9
	udp_send "$P-c1" "$IP2" 5000 10 100   # counted with no daemon running
	start_shoald
	m1=$(metrics)
	rx1=$(grep "^shoal_container_rx_bytes_total{container=\"$P-c2\"" <<<"$m1" | awk '{print $2}')
	ev1=$(grep '^shoal_events_read_total{.*type="drop"}' <<<"$m1" | awk '{print $2}')
	[ $((rx1 - rx0)) -eq $((10 * 142)) ]
	[ "$ev1" -ge "$ev0" ]
	# and after a clean stop too, with new events in between
	udp_send "$P-c1" 10.88.0.77 5000 3 10
	sleep 0.5
	ev2=$(metrics | grep '^shoal_events_read_total{.*type="drop"}' | awk '{print $2}')
	[ "$ev2" -ge $((ev1 + 3)) ]
	stop_shoald
	start_shoald
	ev3=$(metrics | grep '^shoal_events_read_total{.*type="drop"}' | awk '{print $2}')
	[ "$ev3" -ge "$ev2" ]
}

@test "Prometheus scrapes --metrics-addr; a query returns the container's byte counter" {
	command -v prometheus >/dev/null || skip "prometheus not installed (make deps installs it)"
	world --metrics-addr 127.0.0.1:9323
	# the TCP listener serves /metrics and nothing else
	in_host curl -sf http://127.0.0.1:9323/metrics | grep -q '^shoal_container_rx_bytes_total'
	run in_host curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9323/info
	[ "$output" = 404 ]
	udp_send "$P-c1" "$IP2" 5000 1000 100
	want=$(sample shoal_container_rx_bytes_total "$P-c2")
	[ "$want" -ge $((1000 * 142)) ]
	mkdir -p "$W/prom"
	cat > "$W/prom/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	scrape_configs:
	  - job_name: shoal
	    static_configs:
	      - targets: ['127.0.0.1:9323']
	EOF
	ip netns exec "$HOSTNS" prometheus --config.file "$W/prom/prometheus.yml" --storage.tsdb.path "$W/prom/data" \
		--web.listen-address 127.0.0.1:9090 > "$W/prom/log" 2>&1 &
	echo $! >> "$W/pids"
	q="shoal_container_rx_bytes_total{container=\"$P-c2\",network=\"net1\"}"
	got=
	for _ in $(seq 1 60); do
		got=$(in_host curl -sf --get http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$q" 2>/dev/null |
			jq -r '.data.result[0].value[1] // empty' 2>/dev/null) || true
		[ -n "$got" ] && break
		sleep 0.5
	done
	echo "prometheus: $q = $got (want $want)" >&3
	[ "$got" = "$want" ]
	# the scrape itself is healthy
	up=$(in_host curl -sf --get http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=up{job="shoal"}' | jq -r '.data.result[0].value[1]')
	[ "$up" = 1 ]
}

@test "bad --metrics-addr stops start-up naming the flag" {
	run start_shoald --metrics-addr localhost:nope
	[ "$status" -ne 0 ]
	grep -q 'invalid value "localhost:nope" for flag --metrics-addr: expected IPv4:PORT' "$W/shoald.log"
}
