#!/bin/sh
# Soak test (issue 5; not part of the default suite):
#
#   sh scripts/soak.sh DURATION_S CLIENTS [REBOOT_INTERVAL_S]
#
# Builds a release tree (build-soak/, or $SOAK_BUILD), starts a private
# liveupdated from a copy of its binary, and runs bench/luo-soak: CLIENTS
# processes (at least 32) doing full cycles — create, preserve memfds of
# known data, close or keep, retrieve and verify every byte after the next
# reboot, finish — while the driver reboots the daemon every
# REBOOT_INTERVAL_S seconds (default 3).  Prints operations, errors by kind,
# and the daemon's fd count and VmRSS at the start and the end.  Exits
# non-zero if anything was lost, any unexpected error occurred, the fd
# count grew, VmRSS grew by more than 2048 kB, or the daemon did not stop
# cleanly.  The daemon's log is kept in the private directory on failure.
set -u
cd "$(dirname "$0")/.."

duration=${1:-}
clients=${2:-}
interval=${3:-3}
if [ -z "$duration" ] || [ -z "$clients" ]; then
	echo "usage: $0 DURATION_S CLIENTS [REBOOT_INTERVAL_S]" >&2
	exit 2
fi
if [ "$clients" -lt 32 ]; then
	echo "soak: at least 32 clients" >&2
	exit 2
fi

build=${SOAK_BUILD:-build-soak}
if [ ! -d "$build" ]; then
	meson setup "$build" --buildtype=release >/dev/null || exit 1
fi
ninja -C "$build" src/daemon/liveupdated bench/luo-soak >/dev/null || exit 1

dir=$(mktemp -d /tmp/luo-soak-XXXXXX) || exit 1
cp "$build/src/daemon/liveupdated" "$dir/liveupdated" || exit 1
mkfifo "$dir/ready" || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$dir/liveupdated" --socket "$dir/liveupdate.sock" --ready-fd 3 \
	--log-level notice 3>"$dir/ready" 2>"$dir/liveupdated.log" &
pid=$!
read -r ready <"$dir/ready"
if [ "$ready" != "READY=1" ]; then
	echo "soak: liveupdated did not start:" >&2
	cat "$dir/liveupdated.log" >&2
	exit 1
fi

echo "soak: $duration s, $clients clients, a reboot every $interval s," \
	"liveupdated pid $pid"
"$build/bench/luo-soak" "$dir/liveupdate.sock" "$pid" "$duration" \
	"$clients" "$interval"
rc=$?

kill -TERM "$pid"
wait "$pid"
drc=$?
pid=
if [ "$drc" -ne 0 ]; then
	echo "soak: liveupdated exited with $drc" >&2
	rc=1
fi
echo "daemon log lines: $(wc -l <"$dir/liveupdated.log")," \
	"warnings/errors: $(grep -c -E ': (warning|err):' "$dir/liveupdated.log")"
if [ "$rc" -eq 0 ]; then
	rm -rf "$dir"
else
	echo "soak: FAILED; daemon log in $dir/liveupdated.log" >&2
fi
exit "$rc"
