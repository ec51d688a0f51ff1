#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-guest.sh INITRAMFS KVER SCENARIO LOG [TIMEOUT]
#
# Boot Debian's kernel KVER with INITRAMFS (build-initramfs.sh) in QEMU
# under TCG, one CPU, 2 GiB of RAM of which memmap=256M!1G is set aside as
# the pmem region, and run SCENARIO (luo.scenario= on the command line).
# The serial console goes to LOG, each line stamped with the host's clock
# as it arrives.  The run is bounded: QEMU runs under timeout(1) (TIMEOUT
# seconds, 300 by default), and whatever still runs at the end is killed
# by its pid.  Exit 0 when the guest printed "VERDICT PASS SCENARIO",
# else 1; the timings the run showed are printed either way.
set -u

[ $# -ge 4 ] || {
	echo "usage: $0 INITRAMFS KVER SCENARIO LOG [TIMEOUT]" >&2
	exit 2
}
initramfs=$1
kver=$2
scenario=$3
log=$4
limit=${5:-300}

dir=$(mktemp -d "${TMPDIR:-/tmp}/luo-guest.XXXXXX") || exit 1
qpid=""
spid=""
# What is left at the end (a signal, an early exit) is killed by its pid:
# timeout(1), and QEMU itself by the pid it wrote, if that process is
# still the QEMU of this run.
cleanup() {
	local q
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
	q=$(cat "$dir/qemu.pid" 2>/dev/null)
	if [ -n "$q" ] && tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null |
	   grep -qF "$dir/qemu.pid"; then
		kill -9 "$q"
	fi
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkfifo "$dir/serial" || exit 1

# Stamp each line with the host's clock (seconds since the start).
python3 -c '
import sys, time
t0 = time.monotonic()
out = sys.stdout.buffer
for line in sys.stdin.buffer:
	out.write(b"%9.3f " % (time.monotonic() - t0) + line.replace(b"\r", b""))
	out.flush()
' <"$dir/serial" >"$log" &
spid=$!

timeout --kill-after=5 "$limit" qemu-system-x86_64 \
	-accel tcg -cpu max -smp 1 -m 2G \
	-nodefaults -no-user-config -display none -no-reboot \
	-serial stdio -monitor none -pidfile "$dir/qemu.pid" \
	-kernel "/boot/vmlinuz-$kver" -initrd "$initramfs" \
	-append "console=ttyS0 memmap=256M!1G panic=-1 loglevel=4 luo.scenario=$scenario" \
	</dev/null >"$dir/serial" 2>&1 &
qpid=$!
wait "$qpid"
rc=$?
qpid=""
wait "$spid"
spid=""

# Timings: guest-measured durations ("time NAME SECONDS"), and from the
# host's stamps the boot (QEMU start to the first /init) and each
# kexec (the line "mark kexec-exec" to the next /init).
awk '
	$2 == "LUO-KEXEC:" && $3 == "time" { printf "  %-28s %8.3f s\n", $4, $5 }
	$2 == "LUO-KEXEC:" && $3 == "mark" {
		if ($4 == "init-1") printf "  %-28s %8.3f s\n", "boot (to stage 1 /init)", $1
		else if ($4 ~ /^init-/ && tx != "")
			printf "  %-28s %8.3f s\n", "kexec to stage " substr($4, 6) " /init", $1 - tx
		if ($4 == "kexec-exec") tx = $1
	}
	# liveupdated'"'"'s own account of a REBOOT --kexec and of the takeover.
	# "N memfds (B bytes) copied into the pool", after "P pool files
	# linked (no copy)" from pool 6bfc3db on; "copied N memfds (B bytes)"
	# before.
	/reboot --kexec: .*into the pool.* in [0-9.]+ ms/ {
		copied = $1; nm = "?"; nb = "?"; np = ""
		for (i = 2; i < NF; i++) {
			if ($i == "memfds") { nm = $(i - 1); nb = substr($(i + 1), 2) }
			if ($i == "pool" && $(i + 1) == "files") np = $(i - 1)
		}
		if (np != "")
			printf "  %-28s %8.3f s (%s pool files linked, %s memfds, %s bytes copied)\n",
				"pool link + memfd copy", $(NF - 1) / 1000, np, nm, nb
		else
			printf "  %-28s %8.3f s (%s memfds, %s bytes)\n",
				"memfd copy into the pool", $(NF - 1) / 1000, nm, nb
	}
	/reboot --kexec: kernel loaded/ {
		if (copied != "")
			printf "  %-28s %8.3f s\n", "handover+sync+kexec load", $1 - copied
		loaded = $1
	}
	$2 == "LUO-KEXEC:" && $3 == "mark" && $4 ~ /^init-/ && loaded != "" {
		printf "  %-28s %8.3f s\n", "kernel loaded to /init", $1 - loaded
		loaded = ""
	}
	/took over .* after a kexec:.*copied back, in / {
		printf "  %-28s %8.3f s\n", "memfd copy back (takeover)", $(NF - 1) / 1000
	}
	$2 == "LUO-KEXEC:" && $3 == "VERDICT" { printf "  %-28s %8.3f s\n", "whole run", $1 }
' "$log"

if grep -q "LUO-KEXEC: VERDICT PASS $scenario\$" "$log"; then
	echo "$scenario: PASS"
	exit 0
fi
case $rc in
124|137) echo "$scenario: FAIL: the guest ran over ${limit} s" ;;
*) grep "LUO-KEXEC: VERDICT" "$log" ||
	echo "$scenario: FAIL: no verdict (qemu exit $rc)" ;;
esac
echo "---- last lines of $log:"
tail -n 40 "$log"
exit 1
