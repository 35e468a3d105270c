#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# shoal as a service: `make install` (DESTDIR) and `make uninstall`, the
# LSB init script contrib/init.d/shoal (what `service shoal start|stop`
# runs where PID 1 is not systemd) and the systemd unit.
#
# The init script runs with every path pointed at the test's dir ($W):
# its defaults file, pidfile and log, and a SHOALD_OPTS with the test's
# data-root, exec-root, socket, bpffs and node name; it runs inside the
# test's network namespace (nsenter --net, as start_shoald does), so the
# shoald it starts is as private as any other e2e shoald. Nothing under
# /etc, /var/lib/shoal, /run/shoal or /var/log is touched.

load helpers
load container_helpers

INITD=$ROOT/contrib/init.d/shoal

setup() {
	e2e_setup
	mkdir -p "$W/etc" "$W/log"
	# the tutorial's /etc/docker/daemon.json: here the test's daemon.json
	CONF=$W/daemon.json
	# The pidfile is the one e2e_teardown's stop_shoald kills by pid, so a
	# failed test leaves no shoald behind.
	export SHOAL_DEFAULTS=$W/etc/default-shoal
	export SHOAL_PIDFILE=$W/shoald.pid
	export SHOAL_LOGFILE=$W/log/shoal.log
	export SHOALD=$ROOT/build/shoald
	write_defaults
}

teardown() {
	e2e_teardown
}

# write_defaults [EXTRA SHOALD FLAGS]: the defaults file (/etc/default/shoal).
write_defaults() {
	cat > "$SHOAL_DEFAULTS" <<-EOF
	SHOALD_OPTS="--data-root $W/data --exec-root $W/exec -H unix://$W/shoal.sock --bpffs-root $W/bpffs --node-name $NODE --config-file $CONF $*"
	EOF
}

# service ACTION: the init script in the test's network namespace.
service() {
	nsenter --net="/run/netns/$HOSTNS" "$INITD" "$@"
}

# make in the repo, not bound to the jobserver of a make this runs under
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" "$@"
}

answers() {
	curl -sf --max-time 2 --unix-socket "$W/shoal.sock" http://localhost/_ping >/dev/null 2>&1
}

@test "make install DESTDIR= places programs, unit, init script, defaults; they run; uninstall removes them, not the config" {
	local d=$W/root b=$W/root/usr/local/bin
	run mk install DESTDIR="$d"
	[ "$status" -eq 0 ]
	for f in shoald shoal shoal-shim; do
		[ -x "$b/$f" ]
		cmp "$ROOT/build/$f" "$b/$f"
	done
	[ -x "$d/etc/init.d/shoal" ]
	[ -f "$d/etc/default/shoal" ]
	[ "$(stat -c %a "$d/usr/local/lib/systemd/system/shoal.service")" = 644 ]
	# both name the installed shoald (PREFIX/bin, not the build dir)
	grep -qx 'ExecStart=/usr/local/bin/shoald $SHOALD_OPTS' "$d/usr/local/lib/systemd/system/shoal.service"
	grep -q '^: "${SHOALD:=/usr/local/bin/shoald}"' "$d/etc/init.d/shoal"
	[[ "$("$b/shoald" --version)" == "shoald version "* ]]

	# the installed init script runs the installed shoald from / ; it runs
	# the shoal-shim next to itself, so a container starts
	(cd / && SHOALD=$b/shoald nsenter --net="/run/netns/$HOSTNS" "$d/etc/init.d/shoal" start)
	run "$b/shoal" -H "unix://$W/shoal.sock" version --format '{{.Server.Version}}'
	[ "$status" -eq 0 ]
	[ "$output" = "$("$ROOT/build/shoald" --version | cut -d' ' -f3)" ]
	[ "$(readlink "/proc/$(cat "$SHOAL_PIDFILE")/exe")" = "$b/shoald" ]
	if [ -x /bin/busybox ]; then
		load_test_image
		id=$(ctr_run c1 'sleep 1000')
		ctr_wait_status "$id" running
		[ "$(readlink "/proc/$(cat "$W/exec/containers/$id/shim.pid")/exe")" = "$b/shoal-shim" ]
	else
		echo "# busybox-static missing: no container started with the installed shim" >&3
	fi
	SHOALD=$b/shoald service stop

	# a changed defaults file survives a second install
	echo '# mine' >> "$d/etc/default/shoal"
	run mk install DESTDIR="$d"
	[ "$status" -eq 0 ]
	[[ "$output" == *"keeping $d/etc/default/shoal"* ]]
	grep -qx '# mine' "$d/etc/default/shoal"

	run mk uninstall DESTDIR="$d"
	[ "$status" -eq 0 ]
	[ ! -e "$b/shoald" ] && [ ! -e "$b/shoal" ] && [ ! -e "$b/shoal-shim" ]
	[ ! -e "$d/etc/init.d/shoal" ]
	[ ! -e "$d/usr/local/lib/systemd/system/shoal.service" ]
	# config stays, as dpkg's remove (not purge) keeps it
	grep -qx '# mine' "$d/etc/default/shoal"
}

@test "the tutorial's flow: service start, info overlay2, stop, storage-driver vfs in daemon.json, start, info vfs" {
	run service status
	[ "$status" -eq 3 ]

	run service start
	[ "$status" -eq 0 ]
	[[ "$output" == *"shoald running (pid "* ]]
	pid=$(cat "$SHOAL_PIDFILE")
	# it runs in the test's namespace, not the machine's
	[ "$(readlink "/proc/$pid/ns/net")" = "$(nsenter --net="/run/netns/$HOSTNS" readlink /proc/self/ns/net)" ]
	[ "$(shoal info --format '{{.Driver}}')" = overlay2 ]
	run shoal info
	[[ "$output" == *$'\n Storage Driver: overlay2\n'* ]]
	run service status
	[ "$status" -eq 0 ]
	[[ "$output" == *"running (pid $pid)"* ]]
	# shoald's own output goes to the log file
	grep -q 'shoald' "$SHOAL_LOGFILE"

	# start while running: nothing happens, success
	run service start
	[ "$status" -eq 0 ]
	[[ "$output" == *"already running (pid $pid)"* ]]
	[ "$(cat "$SHOAL_PIDFILE")" = "$pid" ]

	# Step 1: service shoal stop
	run service stop
	[ "$status" -eq 0 ]
	! kill -0 "$pid" 2>/dev/null || false
	! answers || false
	[ ! -e "$SHOAL_PIDFILE" ]
	run service status
	[ "$status" -eq 3 ]

	# Step 2: "storage-driver" in daemon.json
	cat > "$CONF" <<-'EOF'
	{
	  "storage-driver": "vfs"
	}
	EOF
	# Step 3: service shoal start
	run service start
	[ "$status" -eq 0 ]
	newpid=$(cat "$SHOAL_PIDFILE")
	[ "$newpid" != "$pid" ]
	# Step 4: shoal info
	run shoal info
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n Storage Driver: vfs\n'* ]]
	[ -d "$W/data/vfs" ]

	run service restart
	[ "$status" -eq 0 ]
	! kill -0 "$newpid" 2>/dev/null || false
	[ "$(shoal info --format '{{.Driver}}')" = vfs ]
	run service stop
	[ "$status" -eq 0 ]
	! answers || false
}

@test "stop leaves running containers running; the next start finds them" {
	[ -x /bin/busybox ] || skip "busybox-static not installed (make deps)"
	run service start
	[ "$status" -eq 0 ]
	load_test_image
	id=$(ctr_run c1 'sleep 1000')
	ctr_wait_status "$id" running
	init=$(cat "$W/exec/containers/$id/init.pid")
	shim=$(cat "$W/exec/containers/$id/shim.pid")
	dpid=$(cat "$SHOAL_PIDFILE")

	run service stop
	[ "$status" -eq 0 ]
	! kill -0 "$dpid" 2>/dev/null || false
	! answers || false
	# only shoald was signalled: the shim and the container's process live
	kill -0 "$shim"
	kill -0 "$init"
	[ "$(cat "/proc/$init/stat" | cut -d' ' -f3)" != Z ]

	run service start
	[ "$status" -eq 0 ]
	[ "$(ctr_field "$id" .State.Status)" = running ]
	[ "$(ctr_field "$id" .State.Pid)" = "$init" ]
	run shoal stop -t 1 c1
	[ "$status" -eq 0 ]
	ctr_wait_status "$id" exited
	run service stop
	[ "$status" -eq 0 ]
}

@test "a start whose shoald fails exits non-zero naming the reason and the log; nothing is left running" {
	echo '{"storage-drivr": "vfs"}' > "$CONF"
	run service start
	[ "$status" -ne 0 ]
	[[ "$output" == *"shoald exited during start, see $SHOAL_LOGFILE"* ]]
	[[ "$output" == *"storage-drivr"* ]]
	[ ! -e "$SHOAL_PIDFILE" ]
	[ -z "$(ip netns pids "$HOSTNS")" ]
	run service status
	[ "$status" -eq 3 ]

	# a shoald that never answers on the socket the script waits for:
	# bounded wait, then it is stopped and the log is named
	echo "{\"hosts\": [\"unix://$W/other.sock\"]}" > "$CONF"
	cat > "$SHOAL_DEFAULTS" <<-EOF
	SHOALD_OPTS="--data-root $W/data --exec-root $W/exec --bpffs-root $W/bpffs --node-name $NODE --config-file $CONF"
	SHOAL_HOST=unix://$W/shoal.sock
	SHOAL_START_TIMEOUT=2
	EOF
	SECONDS=0
	run service start
	[ "$status" -ne 0 ]
	[ "$SECONDS" -lt 15 ]
	[[ "$output" == *"did not answer on unix://$W/shoal.sock within 2 s; stopped it, see $SHOAL_LOGFILE"* ]]
	[ ! -e "$SHOAL_PIDFILE" ]
	[ -z "$(ip netns pids "$HOSTNS")" ]

	# no shoald binary
	SHOALD=$W/nope run service start
	[ "$status" -ne 0 ]
	[[ "$output" == *"$W/nope not present or not executable"* ]]
}

@test "stop: not running is success; only the shoald of the pidfile is signalled, never another process" {
	run service stop
	[ "$status" -eq 0 ]
	[[ "$output" == *"not running"* ]]

	# a pidfile naming a live process that is not shoald: stale, left alone
	sleep 1000 &
	spid=$!
	echo "$spid" >> "$W/pids"
	echo "$spid" > "$SHOAL_PIDFILE"
	run service status
	[ "$status" -eq 1 ]
	run service stop
	[ "$status" -eq 0 ]
	[[ "$output" == *"stale pidfile"* ]]
	kill -0 "$spid"
	[ ! -e "$SHOAL_PIDFILE" ]

	# a shoald it did not start (no pidfile) already serves the socket:
	# start refuses instead of reporting that one as its own, stop leaves it
	start_shoald
	mv "$W/shoald.pid" "$W/other.pid"
	run service start
	[ "$status" -ne 0 ]
	[[ "$output" == *"another shoald"*"already answers on unix://$W/shoal.sock"* ]]
	run service stop
	[ "$status" -eq 0 ]
	kill -0 "$(cat "$W/other.pid")"
	answers
	mv "$W/other.pid" "$W/shoald.pid"
	stop_shoald

	run service frobnicate
	[ "$status" -eq 3 ]
	[[ "$output" == *"{start|stop|restart|force-reload|status}"* ]]
}

@test "systemd unit: systemd-analyze verify accepts it; KillMode=process, Delegate=yes, no sd_notify type" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
	local u=$W/unit/shoal.service
	mkdir -p "$W/unit"
	mk install DESTDIR="$W/root" >/dev/null
	# verify checks that ExecStart exists: point it at the DESTDIR copy
	sed "s|^ExecStart=/usr/local/bin/shoald|ExecStart=$W/root/usr/local/bin/shoald|" \
		"$W/root/usr/local/lib/systemd/system/shoal.service" > "$u"
	run systemd-analyze verify "$u"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -qx 'KillMode=process' "$u"
	grep -qx 'Delegate=yes' "$u"
	grep -qx 'EnvironmentFile=-/etc/default/shoal' "$u"
	# shoald has no sd_notify: Type=notify would hang the start
	grep -qx 'Type=exec' "$u"
	! grep -rq sd_notify "$ROOT/user" || false
	# and verify does reject a broken unit (the check can fail)
	sed 's|^ExecStart=.*|ExecStart=/nonexistent/shoald|' "$u" > "$W/unit/bad.service"
	run systemd-analyze verify "$W/unit/bad.service"
	[ "$status" -ne 0 ]
}

@test "the literal commands: service shoal start / service shoal stop (/usr/sbin/service, private /etc/init.d)" {
	command -v service >/dev/null || skip "service (init-system-helpers) not installed"
	[ -d /run/systemd/system ] && skip "systemd runs here: service would call systemctl, not the script"
	# `service` clears the environment and runs /etc/init.d/shoal, which
	# reads /etc/default/shoal: both are the test's, bind-mounted in a
	# private mount namespace, so the machine's /etc is never touched.
	mkdir -p "$W/initd" "$W/default"
	cp "$INITD" "$W/initd/shoal"
	cat > "$W/default/shoal" <<-EOF
	SHOALD=$SHOALD
	SHOAL_PIDFILE=$SHOAL_PIDFILE
	SHOAL_LOGFILE=$SHOAL_LOGFILE
	SHOALD_OPTS="--data-root $W/data --exec-root $W/exec -H unix://$W/shoal.sock --bpffs-root $W/bpffs --node-name $NODE --config-file $CONF"
	EOF
	svc() {
		unshare --mount --propagation private sh -c '
			mount --bind "$1/initd" /etc/init.d && mount --bind "$1/default" /etc/default &&
			exec nsenter --net="/run/netns/$2" service shoal "$3"' - "$W" "$HOSTNS" "$1"
	}
	run svc start
	[ "$status" -eq 0 ]
	[ "$(shoal info --format '{{.Driver}}')" = overlay2 ]
	pid=$(cat "$SHOAL_PIDFILE")
	run svc stop
	[ "$status" -eq 0 ]
	! kill -0 "$pid" 2>/dev/null || false
	echo '{"storage-driver": "vfs"}' > "$CONF"
	run svc start
	[ "$status" -eq 0 ]
	[ "$(shoal info --format '{{.Driver}}')" = vfs ]
	run svc status
	[ "$status" -eq 0 ]
	run svc stop
	[ "$status" -eq 0 ]
	run svc status
	[ "$status" -eq 3 ]
}
