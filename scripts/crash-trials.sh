#!/bin/sh
# The long variant of tests/crash (issue 9; not in the default suite):
#
#   sh scripts/crash-trials.sh [N]
#
# Runs tests/crash/test-crash-trials with N kills (default 500) of
# liveupdated's engine (under its vault, the default) at random moments
# under a client doing every request, with REBOOTs among them; fails if anything acknowledged
# was lost, anything unpreserved, closed or finished came back, a request
# failed with another errno than the documented ones, or a client hung.
# Uses build/ (set BUILD to use another tree).
set -u
cd "$(dirname "$0")/.."

n=${1:-500}
build=${BUILD:-build}
if [ ! -d "$build" ]; then
	meson setup "$build" >/dev/null || exit 1
fi
ninja -C "$build" src/daemon/liveupdated tests/crash/test-crash-trials \
	>/dev/null || exit 1
log=$(mktemp /tmp/luo-crash-trials-XXXXXX.log) || exit 1
LUO_CRASH_TRIALS=$n LIVEUPDATED="$build/src/daemon/liveupdated" \
	"$build/tests/crash/test-crash-trials" >"$log" 2>&1
rc=$?
grep -E '^(client:|[0-9]+ kills)' "$log"
echo "recoveries logged: $(grep -c 'recovered update' "$log"), EIO answers: $(grep -c 'interrupted: EIO' "$log")"
if [ "$rc" -eq 0 ]; then
	rm -f "$log"
	echo "crash-trials: $n kills: PASS"
else
	echo "crash-trials: FAILED; log in $log" >&2
fi
exit "$rc"
