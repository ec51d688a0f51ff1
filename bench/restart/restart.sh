#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Restarts of a real, unmodified socket-activated service under load:
# lighttpd (Debian's package, server.systemd-socket-activation) restarted
# RESTARTS times through luo-listen, against the same number of plain
# restarts (lighttpd binding its own socket), while http-load's CLIENTS
# clients make requests on 127.0.0.1 in a loop.  Each restart: start the
# service, wait until it answers, let the load run HOLD seconds, SIGTERM
# it (what a service manager sends), reap it, start it again.  Prints the
# requests answered, connections refused, reset and failed in each mode.
#
# Usage: sh bench/restart/restart.sh [RESTARTS [CLIENTS]]   (as root)
# Environment: BUILD (build directory, default build-restart), PORT
# (default 18080), HOLD (default 0.2), SIGNAL (default TERM; INT is
# lighttpd's graceful stop, which answers what it has accepted),
# REBOOT_EVERY (default 10: a REBOOT of liveupdated before every tenth
# restart through luo-listen, the service running; 0 for none).
# Installs lighttpd if it is missing, without starting its system service.
set -eu

RESTARTS=${1:-100}
CLIENTS=${2:-16}
PORT=${PORT:-18080}
HOLD=${HOLD:-0.2}
SIGNAL=${SIGNAL:-TERM}
REBOOT_EVERY=${REBOOT_EVERY:-10}
reboots=0
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build-restart}

if ! command -v lighttpd >/dev/null; then
	# Never start Debian's lighttpd service: port 80, and not ours.
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	apt-get install -y lighttpd >/dev/null
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

[ -d "$BUILD" ] || meson setup "$BUILD" -Dbuildtype=release -Dfuzz=false \
	>/dev/null
ninja -C "$BUILD" src/daemon/liveupdated src/tools/luo-listen \
	src/tools/liveupdatectl tests/listen/http-load >/dev/null

tmp=$(mktemp -d /tmp/luo-restart.XXXXXX)
daemon=
loadpid=
svc=
cleanup() {
	[ -z "$svc" ] || kill "$svc" 2>/dev/null || true
	[ -z "$loadpid" ] || kill "$loadpid" 2>/dev/null || true
	[ -z "$daemon" ] || kill "$daemon" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export LUO_SOCKET="$tmp/luo.sock"
mkfifo "$tmp/ready"
"$BUILD/src/daemon/liveupdated" --socket "$LUO_SOCKET" --ready-fd 3 \
	3> "$tmp/ready" 2> "$tmp/liveupdated.log" &
daemon=$!
read -r ready < "$tmp/ready"
[ "$ready" = READY=1 ] || {
	echo "liveupdated did not start:" >&2
	cat "$tmp/liveupdated.log" >&2
	exit 1
}

mkdir "$tmp/www"
echo "hello from lighttpd" > "$tmp/www/index.html"
for mode in luo plain; do
	activation=disable
	[ $mode = plain ] || activation=enable
	cat > "$tmp/$mode.conf" <<CONF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.systemd-socket-activation = "$activation"
server.errorlog = "$tmp/$mode.err"
server.max-connections = 4096
server.listen-backlog = 4096
CONF
done

httpload="$BUILD/tests/listen/http-load"

# One run: RESTARTS restarts in mode $1 under load; its counts in
# $tmp/$1.load.
run() {
	mode=$1
	"$httpload" 127.0.0.1 "$PORT" "$CLIENTS" /index.html > "$tmp/$mode.load" &
	loadpid=$!
	i=0
	while [ $i -le "$RESTARTS" ]; do
		if [ "$mode" = luo ]; then
			"$BUILD/src/tools/luo-listen" --name restart-bench \
				--listen "tcp:127.0.0.1:$PORT" -- \
				lighttpd -D -f "$tmp/luo.conf" \
				2>> "$tmp/luo-listen.err" &
		else
			lighttpd -D -f "$tmp/plain.conf" &
		fi
		svc=$!
		"$httpload" --probe 127.0.0.1 "$PORT" 1 /index.html ||
			{ echo "lighttpd did not answer ($mode)" >&2; exit 1; }
		sleep "$HOLD"
		i=$((i + 1))
		# A REBOOT of liveupdated now and then, under the running
		# service: the next restart must find the sockets all the same.
		if [ "$mode" = luo ] && [ "$REBOOT_EVERY" -gt 0 ] &&
		   [ $((i % REBOOT_EVERY)) -eq 0 ]; then
			"$BUILD/src/tools/liveupdatectl" reboot >/dev/null
			reboots=$((reboots + 1))
		fi
		# The last instance serves until the clients stop: none waits.
		if [ $i -gt "$RESTARTS" ]; then
			kill -TERM "$loadpid"
			wait "$loadpid"
			loadpid=
		fi
		kill -"$SIGNAL" "$svc"
		wait "$svc" || true
		svc=
	done
}

echo "lighttpd $(lighttpd -v | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p'), $RESTARTS restarts (SIG$SIGNAL, start again) under $CLIENTS clients"
echo "on 127.0.0.1:$PORT; $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)"
printf '%-22s %10s %8s %8s %8s\n' mode requests refused reset failed
for mode in plain luo; do
	run $mode
	set -- $(tr '=' ' ' < "$tmp/$mode.load")
	label="through luo-listen"
	[ $mode = luo ] || label="plain restarts"
	printf '%-22s %10s %8s %8s %8s\n' "$label" "$2" "$4" "$6" "$8"
	eval "refused_$mode=$4"
done
touch "$tmp/luo-listen.err"
echo "REBOOTs of liveupdated during the luo-listen run: $reboots; sockets parked again by the watcher: $(grep -c 'parked again' "$tmp/luo-listen.err")"
if [ "$refused_luo" -eq 0 ]; then
	echo "OK: 0 refused connections through luo-listen ($refused_plain on plain restarts)"
else
	echo "FAIL: $refused_luo refused connections through luo-listen"
	exit 1
fi
