# SPDX-License-Identifier: Apache-2.0
# bench.sh - the start every `make bench` part shares (tools/bench*.sh):
# HERE (tools/) and ROOT (the checkout), cwd ROOT, messages on fd 3 (a copy
# of stderr, so traps still log where a script redirects stderr), the
# namespace and statistics helpers, log and die.  Sourced right after
# `set -Eeuo pipefail`:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"
# A part may define its own log/die (or ratio, ...) after sourcing this.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
exec 3>&2
NL_LOG_FD=3
# shellcheck source=tools/lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=tools/lib/stats.sh
. "$HERE/lib/stats.sh"
log() { nl_log "$@"; }
die() { nl_die "$@"; }

# bench_cleanup_run PATH...: the deferred cleanups (nl_cleanup_run), for a
# part's cleanup trap; with KEEP_LOGS=1 the work dir $W is kept for its
# logs, less PATH... (daemon data), removed after the cleanups ran.
bench_cleanup_run() {
	if [ "${KEEP_LOGS:-0}" = 1 ] && [ -d "$W" ]; then
		nl_undefer nl_rm_tree "$W"
		nl_cleanup_run
		rm -rf "$@"
		log "logs kept in $W"
	else
		nl_cleanup_run
	fi
}
