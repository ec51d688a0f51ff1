#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the tests/kexec guest (busybox sh; README in this directory).
#
# The kernel command line names the scenario (luo.scenario=NAME) and the
# stage (luo.stage=N, 1 when absent; a scenario kexecs with luo.stage=2
# appended).  /init mounts the pseudo file systems, loads the modules of
# /modules/order (the nvdimm ones turn memmap=SIZE!START into /dev/pmem0;
# ext4 and what it needs), sources
# /scenario-NAME.sh and calls its function stageN.  The scenario ends the
# run with pass or fail, which print the verdict line the host reads from
# the serial console and power the guest off; anything else (a stage that
# returns, a kexec that fails) is a failure.
#
# Busybox's shell runs its own applets before files in PATH: the real tools
# are called by absolute path (/usr/sbin/mke2fs, /usr/sbin/kexec).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
# A sanitized build (-Db_sanitize=address,undefined) runs as it does on
# the host; luo-run preloads an unsanitized library before the runtime.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
echo 1 >/proc/sys/kernel/printk_ratelimit 2>/dev/null

KVER=$(cat /etc/luo-kexec-kver)
POOL=/dev/pmem0
STAGE=1
SCENARIO=none
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	luo.stage=*) STAGE=${arg#luo.stage=} ;;
	luo.scenario=*) SCENARIO=${arg#luo.scenario=} ;;
	esac
done

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# mark NAME: a point in time; the host stamps the line as it reads it.
mark() {
	echo "LUO-KEXEC: mark $1 $(uptime_s)"
}

# timed NAME START: print the seconds of guest time since START.
timed() {
	echo "LUO-KEXEC: time $1 $(awk -v a="$2" -v b="$(uptime_s)" \
		'BEGIN { printf "%.3f", b - a }')"
}

say() {
	echo "LUO-KEXEC: $*"
}

halt_guest() {
	sync
	poweroff -f
	sleep 60
}

pass() {
	say "VERDICT PASS $SCENARIO"
	halt_guest
}

fail() {
	say "VERDICT FAIL $SCENARIO stage $STAGE: $*"
	halt_guest
}

# The command line for the next kernel: this one's, with the stage changed.
next_cmdline() {
	local a out=""
	for a in $(cat /proc/cmdline); do
		case "$a" in luo.stage=*) ;; *) out="$out $a" ;; esac
	done
	echo "${out# } luo.stage=$1"
}

# start_daemon [OPTION...]: liveupdated --pool $POOL in the background,
# returning once it listens (--ready-fd); its log goes to the console.
DAEMON_PID=""
start_daemon() {
	local line
	rm -f /run/ready
	mkfifo /run/ready
	liveupdated --pool $POOL --ready-fd 3 "$@" 3>/run/ready </dev/null &
	DAEMON_PID=$!
	read -r line </run/ready
	[ "$line" = "READY=1" ] || fail "liveupdated --pool $POOL did not start"
	say "liveupdated $DAEMON_PID listens"
}

stop_daemon() {
	kill -TERM $DAEMON_PID
	wait $DAEMON_PID
	DAEMON_PID=""
}

# Where the daemon mounted the pool.
pool_mount() {
	awk -v d=$POOL '$1 == d { print $2; exit }' /proc/mounts
}

# The operator's command: REBOOT --kexec into this kernel and initramfs,
# with luo.stage=2.
KEXEC_CMD="liveupdatectl reboot --kexec --kernel /boot/vmlinuz-$KVER \
	--initrd /boot/initrd.img-$KVER"

CLIENT=/usr/local/libexec/luo-kexec/kexec-client

mark init-$STAGE
say "scenario $SCENARIO stage $STAGE kernel $(uname -r)"
for m in $(cat /modules/order); do
	insmod /modules/$m.ko || fail "insmod $m"
done
# nd_e820 registers the region and libnvdimm probes it asynchronously;
# reading a bus's wait_probe returns once probing is done (as ndctl does),
# and devtmpfs has made the node by then.
for b in /sys/bus/nd/devices/ndbus*/wait_probe; do
	cat $b >/dev/null || fail "$b"
done
[ -b $POOL ] || fail "no $POOL after loading the nvdimm modules"
say "$POOL: $(cat /sys/block/pmem0/size) sectors, dax $(cat /sys/block/pmem0/queue/dax)"

[ -r /scenario-$SCENARIO.sh ] || fail "no scenario $SCENARIO"
. /scenario-$SCENARIO.sh
stage$STAGE
fail "stage $STAGE returned"
