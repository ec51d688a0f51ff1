#!/bin/sh
# The memfd cycle: build luo, start liveupdated, preserve a memfd of real data,
# reboot the orchestrator, retrieve and verify it, print the timings.
# Usage: scripts/demo-memfd.sh [SIZE_MIB]   (default 1024)
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=build-release
[ -d "$build" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null

dir=$(mktemp -d /tmp/luo-demo.XXXXXX)
export LUO_SOCKET="$dir/liveupdate.sock"
log="$dir/liveupdated.log"

# The daemon writes READY=1 on fd 3 once it listens; read waits for it.
mkfifo "$dir/ready"
"$build/src/daemon/liveupdated" --socket "$LUO_SOCKET" --ready-fd 3 \
	--log-level info 3>"$dir/ready" 2>"$log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$dir"' EXIT
read -r ready <"$dir/ready"
echo "liveupdated is up (pid $daemon): $ready"

status=0
"$build/examples/memfd-cycle" "${1:-1024}" || status=$?
echo "--- daemon log ---"
cat "$log"
exit $status
