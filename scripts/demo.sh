#!/bin/sh
# The main job: build luo, start liveupdated and kvd (examples/kvd), fill kvd
# with data, drive it with memcaslap (libmemcached-tools), live-update kvd to
# a new binary (kvd-v2) in the middle of the load, and print the bytes of
# state, the requests served and failed, the connections dropped and the
# blackout.  Exits non-zero unless nothing failed, nothing was dropped and
# every item written before the update is intact after it.
# Usage: scripts/demo.sh [STATE_MIB]   (default 1024)
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${LUO_BUILD:-build-release}	# another build directory: LUO_BUILD=DIR
[ -d "$build" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null

mib=${1:-1024}
size=4000		# value bytes: key, value and item header fill a 4 KiB slot
count=$((mib * 256))	# so COUNT items fill MIB MiB of kvd's memfd
load_s=10		# how long memcaslap runs
update_at=4		# seconds into the load when kvd is updated
threads=2 conc=16	# memcaslap threads and connections

dir=$(mktemp -d /tmp/luo-demo.XXXXXX)
export LUO_SOCKET="$dir/liveupdate.sock"
kvd_bin="$build/examples/kvd/kvd"
probe_bin="$build/examples/kvd/kvd-probe"
daemon="" kvd="" load="" probe=""
cleanup() {
	for p in $probe $load $kvd $daemon; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAILED: $*"
	for f in liveupdated.log kvd.log load.out probe.out; do
		[ -s "$dir/$f" ] && { echo "--- $f ---"; tail -20 "$dir/$f"; }
	done
	exit 1
}

# liveupdated writes READY=1 on fd 3 once it listens; read waits for it.
mkfifo "$dir/ready" "$dir/kvd-ready"
"$build/src/daemon/liveupdated" --socket "$LUO_SOCKET" --ready-fd 3 \
	--log-level info 3>"$dir/ready" 2>"$dir/liveupdated.log" &
daemon=$!
read -r ready <"$dir/ready" || fail "liveupdated did not start"
echo "liveupdated is up (pid $daemon): $ready"

# kvd writes its port on fd 4 once it serves.
"$kvd_bin" --port 0 --memory $((mib + 2048)) --socket "$LUO_SOCKET" \
	--control "$dir/kvd.ctl" --ready-fd 4 4>"$dir/kvd-ready" \
	2>"$dir/kvd.log" &
kvd=$!
read -r port <"$dir/kvd-ready" || fail "kvd did not start"
server=127.0.0.1:$port
kvstat() { memcstat --servers="$server" 2>/dev/null | awk -v k="$1:" '$1 == k { print $2 }'; }
echo "kvd $(kvstat version) is up (pid $kvd) on $server"

"$probe_bin" fill "$port" "$count" "$size" || fail "filling kvd"

# Client-side TCP connections to kvd: "local-port bytes-received" each.
conns() {
	ss -Htin state established "( dport = :$port )" | awk '
		/^[0-9]/ { if (p != "") print p, b; n = split($3, a, ":");
			   p = a[n]; b = 0 }
		/bytes_received:/ { match($0, /bytes_received:[0-9]+/);
				    b = substr($0, RSTART + 15, RLENGTH - 15) }
		END { if (p != "") print p, b }' | LC_ALL=C sort
}

memcaslap --servers="$server" --threads=$threads --concurrency=$conc \
	--time=${load_s}s --verify=0.1 >"$dir/load.out" 2>&1 &
load=$!
"$probe_bin" watch "$port" "$count" "$size" >"$dir/probe.out" 2>&1 &
probe=$!

# The load runs for a while before the update: this is the schedule of the
# demo, not a wait for a condition.
sleep $update_at
items=$(kvstat curr_items) state=$(kvstat arena_used) pid=$(kvstat pid)
conns >"$dir/before"
echo "updating kvd to kvd-v2 under load ($(wc -l <"$dir/before") client connections)"
"$kvd_bin" upgrade --control "$dir/kvd.ctl" "$build/examples/kvd/kvd-v2"
# Each memcstat is a blocking exchange on a new connection: the old image
# answers until it stops, the new one once it has taken over.
tries=0
until [ "$(kvstat version)" = 2.0 ]; do
	tries=$((tries + 1))
	[ $tries -lt 5000 ] || fail "kvd-v2 never answered"
done
conns >"$dir/after"
sleep 1		# the load carries on; every connection must make progress
conns >"$dir/later"

wait $load || fail "memcaslap exited with $?"
load=""
kill -TERM $probe 2>/dev/null || true
wait $probe || fail "the probe saw a wrong reply or lost its connection"
probe=""

"$probe_bin" verify "$port" "$count" "$size" || fail "data lost in the update"
[ "$(kvstat pid)" = "$pid" ] || fail "kvd was restarted, not updated"
[ "$(kvstat live_updates)" = 1 ] || fail "kvd did not count one live update"

# The figures.
out="$dir/load.out"
ops=$(awk '/^Run time:/ { for (i = 1; i < NF; i++) if ($i == "Ops:") print $(i + 1) }' "$out")
lfail=$(awk '/^(get_misses|verify_failed):/ { n += $2 } / ERROR/ { n++ }
	     END { print n + 0 }' "$out")
set -- $(awk '/^probe:/ { print $3, $5 }' "$dir/probe.out")
preq=$1 pfail=$2
dropped=$(LC_ALL=C join -v 1 "$dir/before" "$dir/later" | wc -l)
stalled=$(LC_ALL=C join "$dir/after" "$dir/later" | awk '$2 == $3' | wc -l)
blackout=$(awk '/^gap:/ { print $2; exit }' "$dir/probe.out")
window=$(awk '/upgrade: start/ { s = $2 } /took over/ { e = $2 }
	      END { sub(":", "", s); sub(":", "", e); print s, e }' "$dir/kvd.log")
set -- $window
update_ms=$(echo "$1 $2" | awk '{ printf "%.3f", ($2 - $1) * 1000 }')
at_update=$(awk -v s="$1" -v e="$2" '/^gap:/ && $5 <= e && $7 >= s {
	print $2; exit }' "$dir/probe.out")

echo "state:              $((state / 1048576)) MiB ($state bytes) in kvd's memfd, $items items"
echo "requests served:    $((ops + preq)) (memcaslap $ops in ${load_s} s, probe $preq)"
echo "requests failed:    $((lfail + pfail))"
echo "connections dropped: $dropped of $(wc -l <"$dir/before") (stalled after the update: $stalled)"
echo "blackout:           ${at_update:-(below the run's 256 longest gaps)} ms (the probe's longest wait for a reply across the update; kvd itself, stop to serving again: $update_ms ms)"
echo "longest gap:        $blackout ms anywhere in the run (machine load included)"
echo "data:               $count items written before the update all intact; kvd $(kvstat version), same pid $pid"
[ $((lfail + pfail + dropped + stalled)) -eq 0 ] || fail "requests failed or connections dropped"
echo "OK: live update under load with 0 failed requests and 0 dropped connections"
