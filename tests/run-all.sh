#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every test suite (C unit, BPF, system, bats end-to-end), each
# producing TAP, and print one summary line: "N passed, N failed, N skipped".
# Usage: tests/run-all.sh [SUITE...]   suites: unit bpf sys e2e
set -uo pipefail
cd "$(dirname "$0")/.."

B=${BUILD:-build}
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit bpf sys e2e)
passed=0 failed=0 skipped=0
log_dir=$(mktemp -d /tmp/shoal-tests.XXXXXX)

# Count the TAP lines of one suite's output; a suite that exits non-zero
# without reporting a failure (a crash, a missing plan) counts as one.
tally() {
	local name=$1 out=$2 rc=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$out" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$out" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$out" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "# suite $name exited with status $rc without a failing test: counted as a failure"
		f=1
	fi
	echo "# suite $name: $p passed, $f failed, $s skipped"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_suite() {
	local name=$1; shift
	local out="$log_dir/$name.tap" rc
	echo "# ===== $name: $*"
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	tally "$name" "$out" "$rc"
}

for s in "${suites[@]}"; do
	case $s in
	unit) run_suite unit "$B/shoal-test-unit" ;;
	bpf) run_suite bpf "$B/shoal-test-bpf" ;;
	sys) [ -x "$B/shoal-test-sys" ] && run_suite sys "$B/shoal-test-sys" ;;
	e2e) run_suite e2e bats --tap tests/e2e ;;
	*) echo "unknown suite $s" >&2; exit 2 ;;
	esac
done
rm -rf "$log_dir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
