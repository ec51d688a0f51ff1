#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# kexec-test.sh BUILD_DIR SCENARIO [PROGRAM...]
#
# The meson test of suite "kexec" (README here): build the initramfs from
# BUILD_DIR (meson install with DESTDIR) and the test PROGRAMs, then boot
# Debian's kernel with it in QEMU under TCG and run SCENARIO across a real
# kexec (run-guest.sh).  The guest's kernel is the newest one installed
# with its modules (linux-image-amd64); $LUO_KEXEC_KVER chooses another.
# Exit 77 (skip) only when QEMU cannot run on this host at all; anything
# else missing is a failure: scripts/deps.sh installs it.
set -u
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR SCENARIO [PROGRAM...]" >&2; exit 2; }
build=$1
scenario=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "SKIP: qemu-system-x86_64 is not installed (package qemu-system-x86)"
	exit 77
fi
if ! qemu-system-x86_64 -accel tcg -machine none -display none \
	-S -no-user-config -nodefaults -monitor none -version >/dev/null 2>&1; then
	echo "SKIP: qemu-system-x86_64 does not run here"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: the kexec test needs root (the kernel image is 0600, the"
	echo "initramfs has device nodes)"
	exit 1
fi

kver=${LUO_KEXEC_KVER:-}
if [ -z "$kver" ]; then
	for d in $(ls -1 /lib/modules 2>/dev/null | sort -V); do
		[ -r "/boot/vmlinuz-$d" ] && kver=$d
	done
fi
if [ -z "$kver" ]; then
	echo "FAIL: no kernel with modules in /boot and /lib/modules" \
	     "(package linux-image-amd64; scripts/deps.sh installs it)"
	exit 1
fi

out=$build/tests/kexec
mkdir -p "$out"
initramfs=$out/initramfs-$scenario.cpio
t0=$(date +%s.%N)
sh "$here/build-initramfs.sh" "$initramfs" "$kver" "$build" "$@" || exit 1
echo "initramfs $(stat -c %s "$initramfs") bytes, built in" \
     "$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }') s;" \
     "kernel $kver"
sh "$here/run-guest.sh" "$initramfs" "$kver" "$scenario" \
	"$out/serial-$scenario.log" "${LUO_KEXEC_TIMEOUT:-600}"
rc=$?
echo "serial console: $out/serial-$scenario.log"
grep -E "LUO-KEXEC|liveupdate|kexec-client|kabi" "$out/serial-$scenario.log"
exit $rc
