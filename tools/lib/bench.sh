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
