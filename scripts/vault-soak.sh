#!/bin/sh
# Soak of liveupdated --vault (issue 9; not in the default suite):
#
#   sh scripts/vault-soak.sh [DURATION_S]
#
# Runs tests/crash/test-crash-trials for DURATION_S seconds (default
# 1800): a client doing every request without pause, REBOOTs among them
# (about one request in 30), and a kill -9 of the engine (every tenth: of the vault) about every 10 s.
# Prints the client's requests, EIOs, REBOOTs and files verified, and fds
# and VmRSS of the vault and the engine at the start and the end.  Fails
# if anything acknowledged was lost, anything unpreserved, closed or
# finished came back, a client hung, or the vault's fd count grew.
# Every tenth kill is the vault's (the engine starts a new one).  Uses
# build/ (BUILD overrides).
set -u
cd "$(dirname "$0")/.."

duration=${1:-1800}
build=${BUILD:-build}
if [ ! -d "$build" ]; then
	meson setup "$build" >/dev/null || exit 1
fi
ninja -C "$build" src/daemon/liveupdated tests/crash/test-crash-trials \
	>/dev/null || exit 1
kills=$((duration / 10))
[ "$kills" -ge 1 ] || kills=1
log=$(mktemp /tmp/luo-vault-soak-XXXXXX.log) || exit 1
echo "vault-soak: $duration s, a kill -9 of the engine every ~10 s ($kills kills)"
LUO_CRASH_TRIALS=$kills LUO_CRASH_INTERVAL_MS=10000 \
	LIVEUPDATED="$build/src/daemon/liveupdated" \
	"$build/tests/crash/test-crash-trials" >"$log" 2>&1
rc=$?
grep -a -E '^(start|end|client):| kills' "$log"
start=$(grep -a '^start:' "$log" | sed 's/.*vault pid [0-9]*: \([0-9]*\) fds.*/\1/')
end=$(grep -a '^end:' "$log" | sed 's/.*vault pid [0-9]*: \([0-9]*\) fds.*/\1/')
echo "recoveries: $(grep -a -c 'recovered update' "$log"), EIO answers: $(grep -a -c 'interrupted: EIO' "$log"), warnings/errors: $(grep -a -c -E ': (warning|err):' "$log")"
if [ "$rc" -eq 0 ] && [ -n "$start" ] && [ -n "$end" ] &&
   [ "$end" -gt $((start + 16)) ]; then
	echo "vault-soak: the vault's fds grew from $start to $end" >&2
	rc=1
fi
if [ "$rc" -eq 0 ]; then
	rm -f "$log"
	echo "vault-soak: PASS"
else
	echo "vault-soak: FAILED; log in $log" >&2
fi
exit "$rc"
