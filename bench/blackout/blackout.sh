#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The blackout of a kvd live update, as a client sees it, against the
# baselines a user would otherwise pick (issue 4 part 5):
#
#   luo          kvd hands its session over (LUO_IOCTL_HANDOVER) and execs kvd-v2
#   floor        kvd --handoff unix: the same fds straight to the successor by
#                SCM_RIGHTS over a socket pair, no orchestrator
#   cold         kvd --save/--load: SIGTERM writes the data to a file (and
#                syncs it), a new kvd reads it back
#   memcached    memcached -e /dev/shm/FILE: SIGUSR1, then memcached again on
#                the same file (restarted in the next second of the wall
#                clock, without which memcached 1.6 drops the cache)
#   criu         criu dump and restore of kvd, when `criu check` passes
#
# One probe client asks "get probe" back to back on its own connection; the
# blackout is the longest gap between two replies (CLOCK_MONOTONIC). Series:
# state size (BLACKOUT_SIZES, MiB) and idle connections held open across the
# update (BLACKOUT_CONNS, at 1 MiB, luo and floor). Prints a table, writes
# results/blackout.txt, results/raw.txt and results/blackout.png.  What
# cannot run stops the benchmark with the reason (the fd limit or local
# ports the connection series needs, a server that does not start and why,
# who holds the port), or goes into the table (a failed update).
#
#   bench/blackout/blackout.sh [BUILD_DIR]     (default: build-release)
#
# Environment: BLACKOUT_SIZES ("1 64 1024 8192"), BLACKOUT_CONNS
# ("1 100 1000 5000 10000"), BLACKOUT_REPS (9: luo and floor per size),
# BLACKOUT_PORT (22811), BLACKOUT_OUT (bench/blackout/results),
# BLACKOUT_SAVE_DIR (/var/tmp: the cold restart's file, on disk).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath -m "${1:-$ROOT/build-release}")
OUT=${BLACKOUT_OUT:-$ROOT/bench/blackout/results}
SIZES=${BLACKOUT_SIZES:-"1 64 1024 8192"}
CONNS=${BLACKOUT_CONNS:-"1 100 1000 5000 10000"}
REPS=${BLACKOUT_REPS:-9}
PORT=${BLACKOUT_PORT:-22811}
SAVE_DIR=${BLACKOUT_SAVE_DIR:-/var/tmp}
# Values that fill kvd's 256 KiB class and memcached's 252696-byte class.
VALUE=252500
CONN_REPS=5		# updates per connection count
PER_HOLDER=5000		# idle connections per holder process (fd limit)

LD=$BUILD/src/daemon/liveupdated
KVD=$BUILD/examples/kvd/kvd
KVD_V2=$BUILD/examples/kvd/kvd-v2
PROBE=$BUILD/bench/blackout/blackout-probe

W=""
KPID=""
MPID=""
LDPID=""
KERR=""
PIN=""
POUT=""
HPIDS=()
HIN=()
HOUT=()

log() { printf '%s\n' "$*" >&2; }
die() {
	local f

	log "blackout: $*"
	for f in "$W"/*.log; do
		[ -s "$f" ] && { log "--- $f"; tail -5 "$f" >&2; }
	done
	exit 1
}

deps() {
	local need=()

	command -v meson >/dev/null || sh "$ROOT/scripts/deps.sh"
	command -v memcached >/dev/null || need+=(memcached)
	command -v criu >/dev/null || need+=(criu)
	command -v gnuplot >/dev/null || need+=(gnuplot-nox)
	[ ${#need[@]} -eq 0 ] && return
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}"
}

build() {
	[ -f "$BUILD/build.ninja" ] ||
		meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
	ninja -C "$BUILD" src/daemon/liveupdated examples/kvd/kvd \
		examples/kvd/kvd-v2 bench/blackout/blackout-probe >/dev/null
}

stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	local p

	for p in "${HPIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	# SIGKILL: a kvd started with --save would save on SIGTERM.
	[ -z "$KPID" ] || kill -KILL "$KPID" 2>/dev/null || true
	stop_pid "$MPID"
	stop_pid "$LDPID"
	rm -f "$SAVE_DIR/blackout-$$.save" /dev/shm/blackout-$$.mc*
	[ -n "$W" ] && rm -rf "$W"
}

# --- liveupdated and kvd -------------------------------------------------

start_daemon() {
	mkfifo "$W/ld.ready"
	"$LD" --socket "$W/luo.sock" --ready-fd 9 9>"$W/ld.ready" \
		2>>"$W/liveupdated.log" &
	LDPID=$!
	read -r _ <"$W/ld.ready" || die "liveupdated did not start"
}

# Who listens on the port, if anyone: "; held by ..." or nothing.
port_users() {
	local who

	who=$(ss -Hltnp "sport = :$PORT" 2>/dev/null |
		grep -o 'users:.*' | paste -sd ' ' -)
	[ -z "$who" ] || printf '; port %s held by %s' "$PORT" "$who"
}

# Before a server starts on the port: nothing else may listen there.
port_free() {
	local who

	who=$(port_users)
	[ -z "$who" ] || die "$1 cannot start${who}"
}

# In a server started during a measurement: not the probe's pipes.
close_probe_fds() {
	[ -z "$PIN" ] || exec {PIN}>&- {POUT}<&-
}

# kvd_start MODE MEMORY_MIB [ARGS...]: kvd with its stderr on $KERR.
kvd_start() {
	local mode=$1 mem=$2 port

	shift 2
	if [ -n "$KERR" ]; then
		exec {KERR}<&-
		KERR=""
	fi
	port_free kvd
	rm -f "$W/kvd.err" "$W/kvd.ready"
	mkfifo "$W/kvd.err" "$W/kvd.ready"
	(close_probe_fds
	 exec "$KVD" --port "$PORT" --memory "$mem" --control "$W/kvd.ctl" \
		--exec "$KVD_V2" --socket "$W/luo.sock" --handoff "$mode" \
		"$@" --ready-fd 9 2>"$W/kvd.err" 9>"$W/kvd.ready") &
	KPID=$!
	exec {KERR}<"$W/kvd.err"
	if ! read -r port <"$W/kvd.ready"; then
		local st=0

		wait "$KPID" || st=$?
		KPID=""
		cat <&"$KERR" >>"$W/kvd.log"
		die "kvd did not start (exit status $st):" \
		    "$(grep -o 'fatal: .*' "$W/kvd.log" | tail -1)$(port_users)"
	fi
	[ "$port" = "$PORT" ] || die "kvd serves on $port"
}

kvd_stop() {
	stop_pid "$KPID"
	KPID=""
	exec {KERR}<&-
	KERR=""
}

# Read kvd's log until a line with $1; a line with $2 (if given) or a fatal
# error fails, and so do kvd's exit and 900 s without the line.
kvd_wait_line() {
	local line why

	while read -r -t 900 -u "$KERR" line; do
		printf '%s\n' "$line" >>"$W/kvd.log"
		[[ $line == *"$1"* ]] && return 0
		if [[ $line == *"fatal: "* ]] ||
		   { [ -n "${2:-}" ] && [[ $line == *"$2"* ]]; }; then
			log "  kvd: no \"$1\": ${line#*: }"
			return 1
		fi
	done
	why=$(grep -o 'fatal: .*' "$W/kvd.log" | tail -1)
	log "  kvd: no \"$1\": ${why:-kvd exited or was silent for 900 s}"
	return 1
}

# --- the probe ---------------------------------------------------------

# measure METHOD X CONNS TRIGGER [DONE]: one update, one line of $RAW.
# TRIGGER starts it; DONE, if any, returns once the new server serves
# (without it, the probe's reconnection marks the end).
measure() {
	local method=$1 x=$2 conns=$3 trigger=$4 done=${5:-} res

	rm -f "$W/p.in" "$W/p.out"
	mkfifo "$W/p.in" "$W/p.out"
	"$PROBE" probe "$PORT" <"$W/p.in" >"$W/p.out" 2>>"$W/probe.log" &
	local ppid=$!
	exec {PIN}>"$W/p.in" {POUT}<"$W/p.out"
	read -r -u "$POUT" res || die "$method $x: the probe did not start"
	printf t >&"$PIN"
	eval "$trigger"
	if [ -n "$done" ] && ! eval "$done"; then
		kill -TERM "$ppid"
		wait "$ppid" || true
		exec {PIN}>&- {POUT}<&-
		PIN=""
		POUT=""
		return 1
	fi
	[ -z "$done" ] || printf d >&"$PIN"
	read -r -t 900 -u "$POUT" res || die "$method $x: no probe result"
	printf q >&"$PIN"
	exec {PIN}>&- {POUT}<&-
	PIN=""
	POUT=""
	wait "$ppid" || die "$method $x: the probe failed"
	# blackout_us=N replies=N reconnects=N misses=N at=N
	eval "local $res"
	printf '%s %s %s %s %s %s %s\n' "$method" "$x" "$conns" \
		"$blackout_us" "$reconnects" "$misses" "${EXTRA_US:-0}" >>"$RAW"
	log "  $method x=$x conns=$conns: $((blackout_us / 1000)).$(printf '%03d' $((blackout_us % 1000))) ms" \
	    "(reconnects $reconnects, misses $misses)"
}

fill() {
	local res

	res=$("$PROBE" fill "$PORT" "$1" "$VALUE") || die "fill $1 MiB failed"
	eval "$res"
	ITEMS=$((items + 1))
	log "  filled $1 MiB: $items items in $seconds s"
}

# check METHOD X: the server still has every item.
check_items() {
	local res items

	res=$("$PROBE" stats "$PORT") || die "$1: stats failed"
	eval "$res"
	printf '%s %s %s %s\n' "$1" "$2" "$ITEMS" "$items" >>"$KEPT"
	[ "$items" = "$ITEMS" ] || log "  $1 $2 MiB: $items of $ITEMS items left"
}

# --- the state series -----------------------------------------------------

reps_for() {	# the slow restarts run once at 1 GiB and more
	if [ "$1" -ge 1024 ]; then echo 1; else echo 3; fi
}

upgrade() { kill -USR2 "$KPID"; }
took_over() { kvd_wait_line "took over" || return 1; }

# After a luo update: the new kvd has finished the incoming session and
# preserved everything into its next one (off the critical path: the
# next update would otherwise do what is left of it inside its blackout).
settled() { kvd_wait_line "luo: session kvd ready" "not kept current"; }

# One cold restart: stop (kvd saves), start again from the file.
cold_restart() {
	kill -TERM "$KPID"
	wait "$KPID" || die "kvd failed to save"
	kvd_start "$COLD_MODE" 16 --load "$SAVE" "${COLD_SAVE[@]}"
}

# Per size, one fill: luo updates, cold restarts (the last one starting the
# floor's kvd), floor updates.
series_kvd() {
	local s=$1 mem=$(($1 + $1 / 5 + 16)) n i

	SAVE=$SAVE_DIR/blackout-$$.save
	log "kvd, $s MiB"
	kvd_start luo "$mem" --save "$SAVE"
	fill "$s"
	for ((i = 0; i < REPS; i++)); do
		measure luo "$s" 1 upgrade took_over || die "luo update failed"
		settled || die "luo: the new session was not built"
	done
	check_items luo "$s"
	n=$(reps_for "$s")
	for ((i = 1; i <= n; i++)); do
		COLD_MODE=luo
		COLD_SAVE=(--save "$SAVE")
		if [ "$i" = "$n" ]; then
			COLD_MODE=unix
			COLD_SAVE=()
		fi
		measure cold "$s" 1 cold_restart
	done
	check_items cold "$s"
	for ((i = 0; i < REPS; i++)); do
		measure floor "$s" 1 upgrade took_over || die "floor update failed"
	done
	check_items floor "$s"
	kvd_stop
	rm -f "$SAVE"
}

mc_start() {
	port_free memcached
	(close_probe_fds
	 exec memcached -u root -l 127.0.0.1 -p "$PORT" -m "$MC_MEM" -c 4096 \
		-e "$MC_FILE" 2>>"$W/memcached.log") &
	MPID=$!
}

# SIGUSR1 (memcached saves its metadata and stops), then the same memcached.
mc_restart() {
	local res

	kill -USR1 "$MPID"
	wait "$MPID" || die "memcached failed to stop"
	res=$("$PROBE" next-second) || die "next-second failed"
	eval "$res"
	EXTRA_US=$waited_us
	mc_start
}

series_memcached() {
	local s=$1 n i

	MC_MEM=$(($1 + $1 / 10 + 64))
	MC_FILE=/dev/shm/blackout-$$.mc
	log "memcached -e, $s MiB"
	rm -f "$MC_FILE" "$MC_FILE.meta"
	mc_start
	fill "$s"
	n=$(reps_for "$s")
	for ((i = 0; i < n; i++)); do
		measure memcached "$s" 1 mc_restart
	done
	EXTRA_US=0
	check_items memcached "$s"
	stop_pid "$MPID"
	MPID=""
	rm -f "$MC_FILE" "$MC_FILE.meta"
}

# CRIU: dump kvd (which kills it) and restore it, TCP connections included.
criu_cycle() {
	rm -rf "$W/criu"
	mkdir "$W/criu"
	if ! criu dump -t "$KPID" -D "$W/criu" --tcp-established --shell-job \
		-o dump.log 2>/dev/null; then
		CRIU_FAIL="dump: $(grep -m1 'Error' "$W/criu/dump.log" || echo failed)"
		return
	fi
	wait "$KPID" 2>/dev/null || true
	if ! criu restore -D "$W/criu" --tcp-established --shell-job -d \
		-o restore.log 2>/dev/null; then
		CRIU_FAIL="restore: $(grep -m1 'Error' "$W/criu/restore.log" || echo failed)"
	fi
}

# criu restore -d returns once the restored kvd runs.
criu_done() { [ -z "$CRIU_FAIL" ]; }

series_criu() {
	local s=$1

	[ -z "$CRIU_WHY" ] || return 0
	log "criu, $s MiB"
	CRIU_FAIL=""
	"$KVD" --port "$PORT" --memory $((s + s / 5 + 16)) \
		--control "$W/kvd.ctl" 2>>"$W/kvd-criu.log" </dev/null &
	KPID=$!
	fill "$s"
	measure criu "$s" 1 criu_cycle criu_done || true
	if [ -n "$CRIU_FAIL" ]; then
		CRIU_WHY="criu $CRIU_FAIL"
		stop_pid "$KPID"
	else
		check_items criu "$s"
		# The restored kvd is no longer our child.
		kill -TERM "$KPID"
		tail --pid="$KPID" -f /dev/null
	fi
	KPID=""
}

# --- the connection series ---------------------------------------------

holders_start() {
	local n=$1 c i=0 hin hout line

	while [ "$n" -gt 0 ]; do
		c=$((n < PER_HOLDER ? n : PER_HOLDER))
		rm -f "$W/h$i.in" "$W/h$i.out"
		mkfifo "$W/h$i.in" "$W/h$i.out"
		"$PROBE" hold "$PORT" "$c" <"$W/h$i.in" >"$W/h$i.out" &
		HPIDS+=($!)
		exec {hin}>"$W/h$i.in" {hout}<"$W/h$i.out"
		HIN+=("$hin")
		HOUT+=("$hout")
		read -r -u "$hout" line || die "a holder failed"
		n=$((n - c))
		i=$((i + 1))
	done
}

# Ask every held connection, then let them go; ALIVE is how many answered.
holders_stop() {
	local i res fd

	ALIVE=0
	for i in "${!HPIDS[@]}"; do
		echo check >&"${HIN[$i]}"
		read -r -u "${HOUT[$i]}" res || die "a holder died"
		eval "local $res"
		ALIVE=$((ALIVE + alive))
		fd=${HIN[$i]}
		exec {fd}>&-
		fd=${HOUT[$i]}
		exec {fd}<&-
		wait "${HPIDS[$i]}" || true
	done
	HPIDS=()
	HIN=()
	HOUT=()
}

# A failed update: its reason goes into the table, kvd is stopped, and
# the daemon, which keeps the session for a next retriever, starts afresh.
conns_failed() {
	local why

	why=$(grep -oE '(fatal|not kept current): .*' "$W/kvd.log" | tail -1)
	printf '%s %s %s\n' "$1" "$2" "kvd-v2 ${why:-died}" >>"$FAILF"
	stop_pid "$KPID"
	KPID=""
	exec {KERR}<&-
	KERR=""
	# The daemon holds the connections not retrieved: they end with it.
	stop_pid "$LDPID"
	holders_stop
	rm -f "$W/ld.ready" "$W/luo.sock"
	start_daemon
}

series_conns() {
	local mode=$1 method=$2 c i

	log "$method, idle connections"
	kvd_start "$mode" 32
	fill 1
	for c in $CONNS; do
		holders_start "$c"
		for ((i = 0; i < CONN_REPS; i++)); do
			if ! measure "$method" "$c" "$c" upgrade took_over ||
			   { [ "$mode" = luo ] && ! settled; }; then
				conns_failed "$method" "$c"
				return 0
			fi
		done
		holders_stop
		printf '%s %s %s\n' "$method" "$c" "$ALIVE" >>"$ALIVEF"
	done
	check_items "$method" 1
	kvd_stop
}

# What the connection series needs, checked before the hour it takes:
# kvd and liveupdated each hold every connection and a few fds of their
# own, and every connection takes a local port.  kvd and liveupdated
# inherit the soft fd limit (often 1024): it is raised to the hard one.
preflight() {
	local max=0 c hard need lo hi

	for c in $CONNS; do
		[ "$c" -le "$max" ] || max=$c
	done
	need=$((max + 64))
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || hard=$(cat /proc/sys/fs/nr_open)
	[ "$hard" -ge "$need" ] ||
		die "$max connections need $need fds in kvd and in liveupdated;" \
		    "the hard limit is $hard (ulimit -Hn): raise it, or leave" \
		    "the larger counts out of BLACKOUT_CONNS"
	ulimit -n "$hard" ||
		die "cannot raise the fd limit to $hard (ulimit -n)"
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	[ $((hi - lo + 1)) -ge $((max + 1024)) ] ||
		die "$max connections need as many local ports; the range is" \
		    "$lo-$hi (net.ipv4.ip_local_port_range)"
}

# --- the report ----------------------------------------------------------

# median METHOD X COLUMN: of the raw lines (COLUMN 4: blackout, 7: extra).
median() {
	awk -v m="$1" -v x="$2" -v c="$3" '$1 == m && $2 == x { print $c }' \
		"$RAW" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR) printf "%.3f", v[int((NR + 1) / 2)] / 1000 }'
}

# best METHOD X: the shortest blackout of the raw lines.
best() {
	awk -v m="$1" -v x="$2" '$1 == m && $2 == x { print $4 }' "$RAW" |
		sort -n | awk 'NR == 1 { printf "%.3f", $1 / 1000 }'
}

# The blackout of memcached itself: each restart less its clock wait.
median_less_wait() {
	awk -v x="$1" '$1 == "memcached" && $2 == x { print $4 - $7 }' "$RAW" |
		sort -n | awk '{ v[NR] = $1 }
		END { if (NR) printf "%.3f", v[int((NR + 1) / 2)] / 1000 }'
}

cell() { [ -n "$1" ] && echo "$1" || echo "-"; }

size_label() {
	if [ "$1" -ge 1024 ]; then echo "$(($1 / 1024)) GiB"; else echo "$1 MiB"; fi
}

report() {
	local s c lost

	echo "Blackout of a kvd update as a client sees it: the longest gap between"
	echo "two replies to back-to-back gets, in ms (median; luo and floor of $REPS,"
	echo "cold and memcached of 3 below 1 GiB, 1 from 1 GiB)."
	echo "$(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)."
	echo
	printf '%-8s %8s %8s %8s %8s %10s %10s %12s  %s\n' "state" "luo" \
		"(best)" "floor" "(best)" "cold" "memcached" "(less wait)" "criu"
	for s in $SIZES; do
		printf '%-8s %8s %8s %8s %8s %10s %10s %12s  %s\n' \
			"$(size_label "$s")" \
			"$(cell "$(median luo "$s" 4)")" \
			"$(cell "$(best luo "$s")")" \
			"$(cell "$(median floor "$s" 4)")" \
			"$(cell "$(best floor "$s")")" \
			"$(cell "$(median cold "$s" 4)")" \
			"$(cell "$(median memcached "$s" 4)")" \
			"$(cell "$(median_less_wait "$s")")" \
			"$(cell "$(median criu "$s" 4)")"
	done
	[ -z "$CRIU_WHY" ] || echo "criu: cannot run here: $CRIU_WHY"
	echo "memcached -e restores its cache only in a later wall-clock second than"
	echo "it stopped in; \"(less wait)\" is its blackout without that wait."
	echo
	echo "Idle connections held open across the update (1 MiB of state; median of $CONN_REPS):"
	printf '%-8s %10s %10s %14s %14s\n' "conns" "luo" "floor" "luo alive" \
		"floor alive"
	for c in $CONNS; do
		printf '%-8s %10s %10s %14s %14s\n' "$c" \
			"$(cell "$(median luo-conns "$c" 4)")" \
			"$(cell "$(median floor-conns "$c" 4)")" \
			"$(awk -v x="$c" '$1 == "luo-conns" && $2 == x { print $3 }' "$ALIVEF")" \
			"$(awk -v x="$c" '$1 == "floor-conns" && $2 == x { print $3 }' "$ALIVEF")"
	done
	awk '{ m = $1; x = $2; $1 = $2 = ""; print m " with " x " connections failed:" $0 }' "$FAILF"
	echo
	lost=$(awk '$3 != $4 { printf "%s %s MiB: %s of %s items; ", $1, $2, $4, $3 }' "$KEPT")
	echo "Data kept: ${lost:-every item, after every update and restart}"
	awk '$5 > 0 && ($1 ~ /^(luo|floor)/) { n++ } END { print "Probe reconnections in luo and floor updates: " n + 0 }' "$RAW"
	targets
}

targets() {
	local first last l1 l8 f8

	first=${SIZES%% *}
	last=${SIZES##* }
	l1=$(median luo "$first" 4)
	l8=$(median luo "$last" 4)
	f8=$(median floor "$last" 4)
	[ -n "$l1" ] && [ -n "$l8" ] && [ -n "$f8" ] || return 0
	echo
	awk -v a="$l1" -v b="$l8" -v f="$f8" -v s1="$(size_label "$first")" \
		-v s8="$(size_label "$last")" 'BEGIN {
		printf "luo at %s / luo at %s: %.2f (target <= 1.20): %s\n",
			s8, s1, b / a, b <= 1.2 * a ? "met" : "NOT met"
		printf "luo / floor at %s: %.2f (target <= 3): %s\n",
			s8, b / f, b <= 3 * f ? "met" : "NOT met" }'
}

plot() {
	local m s v dat=$W/plot

	mkdir -p "$dat"
	for m in luo floor cold memcached criu; do
		for s in $SIZES; do
			v=$(median "$m" "$s" 4)
			[ -z "$v" ] || echo "$s $v"
		done >"$dat/$m"
	done
	for s in $SIZES; do
		v=$(median_less_wait "$s")
		[ -z "$v" ] || echo "$s $v"
	done >"$dat/mcless"
	local series=""
	add() { [ -s "$dat/$1" ] && series+="${series:+, }'$dat/$1' using 1:2 with linespoints title '$2'"; true; }
	add luo "luo: kvd session HANDOVER"
	add floor "floor: kvd fds by SCM_RIGHTS"
	add cold "cold restart: save to file, load"
	add memcached "memcached -e restart"
	add mcless "memcached -e, less its clock wait"
	add criu "CRIU dump + restore"
	if [ -z "$series" ]; then
		log "plot: no state series was measured (BLACKOUT_SIZES)"
		return 0
	fi
	gnuplot <<-EOF
	set terminal pngcairo size 900,600 noenhanced
	set output '$OUT/blackout.png'
	set title 'Blackout of a kvd update against state size (client side)'
	set logscale xy
	set xlabel 'state (MiB)'
	set ylabel 'blackout (ms)'
	set xtics ($(for s in $SIZES; do printf '"%s" %s,' "$(size_label "$s")" "$s"; done | sed 's/,$//'))
	set grid
	set key outside below
	$([ -z "$CRIU_WHY" ] || echo "set label 1 'CRIU: cannot run here (${CRIU_WHY//\'/})' at graph 0.01, graph 0.97 font ',8'")
	plot $series
	EOF
	echo "plot: $OUT/blackout.png"
}

main() {
	local s

	deps
	build
	mkdir -p "$OUT"
	W=$(mktemp -d /tmp/blackout.XXXXXX)
	trap cleanup EXIT
	RAW=$OUT/raw.txt
	KEPT=$W/kept
	ALIVEF=$W/alive
	FAILF=$W/failed
	: >"$FAILF"
	: >"$RAW"
	: >"$KEPT"
	: >"$ALIVEF"
	preflight
	CRIU_WHY=""
	if ! criu check >"$W/criu-check" 2>&1; then
		CRIU_WHY="criu check: $(grep 'Error' "$W/criu-check" |
			grep -v 'exited, status' | head -2 |
			sed 's/^Error ([^)]*): //' | paste -sd ';' -)"
	fi
	start_daemon
	series_conns luo luo-conns
	series_conns unix floor-conns
	for s in $SIZES; do
		series_kvd "$s"
		series_memcached "$s"
		series_criu "$s"
	done
	report | tee "$OUT/blackout.txt"
	plot
}

main "$@"
