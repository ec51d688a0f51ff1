#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# liveupdated under a real systemd, as PID 1 of a container of its own
# (issue 10): never in this machine's namespaces, where a systemd would run
# systemd-tmpfiles on the host's /tmp.
#
#   run-nspawn.sh BUILDDIR LUO_HOLD SANITIZE LISTEN_SVC HTTP_LOAD
#
# 1. A Debian 12 root with systemd, debootstrapped once per machine and
#    kept in $LUO_NSPAWN_CACHE (default /var/cache/luo-systemd-test), is
#    copied to BUILDDIR/systemd-test/root.
# 2. The build is installed in the copy (meson install --destdir): the
#    daemon, the tools, libluo and liveupdated.service/.socket; with the
#    test's client (LUO_HOLD), the socket-activated server LISTEN_SVC
#    and the load generator HTTP_LOAD (tests/listen), and inside.sh, run at
#    boot as
#    luo-systemd-test.service, which powers the container off when done.
# 3. systemd-nspawn --boot runs it, with a private network, no
#    registration with a host systemd, and a time limit; the verdict is
#    read back from the root.
# Exit 0 if inside.sh passed, 1 if not (or systemd-nspawn or debootstrap
# is missing: scripts/deps.sh installs them), 77 (skipped) without root.
set -eu
build=$(cd "$1" && pwd)
hold=$2
sanitize=${3:-none}
listen_svc=$4
http_load=$5
src=$(cd "$(dirname "$0")" && pwd)
limit=${LUO_NSPAWN_TIMEOUT:-240}
cache=${LUO_NSPAWN_CACHE:-/var/cache/luo-systemd-test}
suite=bookworm
mirror=${LUO_DEB_MIRROR:-http://deb.debian.org/debian}
# What the root holds: systemd, the daemon's libraries, and the sanitizer
# runtimes for a build under ASan and UBSan.  Another list, another root.
pkgs=systemd,systemd-sysv,libsystemd0,libjson-c5,libfdt1,libasan8,libubsan1
cached=$cache/$suite-$(printf '%s' "$pkgs" | cksum | cut -d' ' -f1)
work=$build/systemd-test
root=$work/root
machine=luo-test-$$
start=$(date +%s)

say() { printf 'run-nspawn: %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }

[ "$(id -u)" -eq 0 ] || { echo "run-nspawn: needs root"; exit 77; }
for t in systemd-nspawn debootstrap flock; do
	command -v "$t" >/dev/null ||
		{ echo "run-nspawn: no $t (sh scripts/deps.sh installs it)"; exit 1; }
done

# No removal through a mount: a root still mounted somewhere is left alone.
remove_root() {
	if grep -q " $work/" /proc/self/mounts; then
		echo "run-nspawn: $work still has mounts; not removed"
		return 1
	fi
	rm -rf "$root"
}

# 1. The cached root, made once (under a lock: one debootstrap at a time).
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ ! -d "$cached" ]; then
	say "debootstrap $suite into $cached"
	rm -rf "$cached.tmp"
	debootstrap --variant=minbase --include="$pkgs" "$suite" \
		"$cached.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log"; exit 1; }
	mv "$cached.tmp" "$cached"
fi
mkdir -p "$work"
remove_root
cp -a --reflink=auto "$cached" "$root"
flock -u 9
exec 9>&-
say "root copied"

# 2. The build and the test in the root.
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null
ldconfig -r "$root"
sbin=$(sed -n 's|^ExecStart=\(.*\)/liveupdated\( .*\)\{0,1\}$|\1|p' \
	"$build/systemd/liveupdated.service")
bin=${sbin%/sbin}/bin
libexec=$root/usr/local/libexec/luo-systemd-test
mkdir -p "$libexec" "$root/luo-test"
cp "$hold" "$libexec/luo-hold"
cp "$listen_svc" "$libexec/listen-svc"
cp "$http_load" "$libexec/http-load"
sed "s|@SBIN@|$sbin|g; s|@BIN@|$bin|g" "$src/inside.sh" >"$libexec/inside.sh"
sed "s|@SBIN@|$sbin|g" "$src/refuse-handover.in" >"$libexec/refuse-handover"
cp "$src/hang-image.in" "$libexec/hang-image"
chmod 0755 "$libexec/inside.sh" "$libexec/refuse-handover" "$libexec/hang-image"
units=$root/etc/systemd/system
cat >"$units/luo-systemd-test.service" <<EOT
[Unit]
Description=luo's systemd test (run-nspawn.sh)
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
Type=oneshot
ExecStart=/bin/sh /usr/local/libexec/luo-systemd-test/inside.sh
StandardOutput=file:/luo-test/log
StandardError=inherit
EOT
mkdir -p "$units/multi-user.target.wants" "$units/sockets.target.wants"
ln -sf ../luo-systemd-test.service "$units/multi-user.target.wants/"
ln -sf "$(find "$root/lib/systemd/system" "$root/usr/lib/systemd/system" \
	"$root/usr/local/lib/systemd/system" -name liveupdated.socket \
	2>/dev/null | head -n 1 | sed "s|^$root||")" \
	"$units/sockets.target.wants/liveupdated.socket"
ln -sf /dev/null "$units/console-getty.service"
if [ "$sanitize" != none ]; then
	# The leak checker's ptrace of its own threads is not for a
	# sandboxed unit; the other suites check the daemon for leaks.
	mkdir -p "$units/liveupdated.service.d"
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
		>"$units/liveupdated.service.d/sanitizer.conf"
fi
say "luo installed in the root"

# 3. Boot it.
log=$work/nspawn.log
timeout -k 10 "$limit" systemd-nspawn --quiet --boot --register=no \
	--keep-unit --private-network --console=passive \
	--machine="$machine" --directory="$root" </dev/null >"$log" 2>&1 &
pid=$!
rc=0
wait "$pid" || rc=$?
rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
say "container exited ($rc)"
cat "$root/luo-test/log" 2>/dev/null || true
if [ "$(cat "$root/luo-test/result" 2>/dev/null)" != PASS ]; then
	[ "$rc" -ne 124 ] || echo "run-nspawn: timed out after ${limit}s"
	echo "-- systemd-nspawn's output (tail)"
	tail -n 40 "$log"
	echo "run-nspawn: FAIL (the root stays in $root)"
	exit 1
fi
remove_root
say "PASS"
