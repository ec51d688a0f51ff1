#!/bin/sh
# Soak of the daemon with its vault (issue 9; not in the default suite):
#
#   sh scripts/vault-soak.sh [DURATION_S [CLIENTS [INTERVAL_S [KILL_S]]]]
#
# Defaults: 1800 s, 32 clients, a REBOOT or an UPGRADE (alternately) every
# 3 s, a kill -9 of the vault or the engine (picked at random) about every
# 10 s.  Builds a release tree (build-soak/, or $SOAK_BUILD), starts a
# private liveupdated from a copy of its binary, and runs bench/luo-soak:
# CLIENTS processes doing full cycles (create, preserve memfds of known
# data, close or keep, retrieve and verify every byte after the next
# REBOOT, finish) without pause.  Prints operations, errors by kind (a
# request answered EIO because its process was killed is counted, not a
# failure), files verified, REBOOTs, UPGRADEs and kills, and the fds and
# VmRSS of the vault and the engine at the start and the end.  Exits
# non-zero if anything acknowledged was lost, anything else failed, a
# process's fd count grew or its VmRSS grew by more than 2048 kB, or the
# daemon did not stop cleanly.  The daemon's log is kept on failure.
set -u
cd "$(dirname "$0")/.."

duration=${1:-1800}
clients=${2:-32}
interval=${3:-3}
kill_s=${4:-10}

build=${SOAK_BUILD:-build-soak}
if [ ! -d "$build" ]; then
	meson setup "$build" --buildtype=release >/dev/null || exit 1
fi
ninja -C "$build" src/daemon/liveupdated bench/luo-soak >/dev/null || exit 1

dir=$(mktemp -d /tmp/luo-vault-soak-XXXXXX) || exit 1
cp "$build/src/daemon/liveupdated" "$dir/liveupdated" || exit 1
mkfifo "$dir/ready" || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		# the vault first (it stops its engine), then whatever is left
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		for p in $(pgrep -x -f "$dir/liveupdated.*" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$dir/liveupdated" --vault --socket "$dir/liveupdate.sock" --ready-fd 3 \
	--log-level notice 3>"$dir/ready" 2>"$dir/liveupdated.log" &
pid=$!
read -r ready <"$dir/ready"
if [ "$ready" != "READY=1" ]; then
	echo "vault-soak: liveupdated did not start:" >&2
	cat "$dir/liveupdated.log" >&2
	exit 1
fi

echo "vault-soak: $duration s, $clients clients, a REBOOT or UPGRADE every" \
	"$interval s, a kill -9 every ~$kill_s s, liveupdated pid $pid"
"$build/bench/luo-soak" --exe "$dir/liveupdated" --upgrade --kill "$kill_s" \
	"$dir/liveupdate.sock" "$pid" "$duration" "$clients" "$interval"
rc=$?

# The vault we started may have been killed and replaced: stop whichever
# vault now runs (SIGTERM stops its engine, then itself).
vault=$(for p in $(pgrep -f "^$dir/liveupdated" 2>/dev/null); do
	if ! tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- '--vault-fd' ||
	   tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- '--vault-adopt'; then
		echo "$p"
	fi
done | head -n 1)
if [ -n "$vault" ]; then
	kill -TERM "$vault"
	if [ "$vault" = "$pid" ]; then
		wait "$pid"
		drc=$?
	else
		while kill -0 "$vault" 2>/dev/null; do
			sleep 0.1
		done
		drc=0
	fi
else
	echo "vault-soak: no vault is running at the end" >&2
	drc=1
fi
pid=
if [ "$drc" -ne 0 ]; then
	echo "vault-soak: liveupdated exited with $drc" >&2
	rc=1
fi
echo "daemon log lines: $(wc -l <"$dir/liveupdated.log")," \
	"recoveries: $(grep -c 'recover' "$dir/liveupdated.log")," \
	"warnings/errors: $(grep -c -E ': (warning|err):' "$dir/liveupdated.log")"
if [ "$rc" -eq 0 ]; then
	rm -rf "$dir"
	echo "vault-soak: PASS"
else
	echo "vault-soak: FAILED; daemon log in $dir/liveupdated.log" >&2
fi
exit "$rc"
