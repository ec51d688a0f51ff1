# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario "quota", sourced by /init: liveupdated --max-pool-per-user on
# Debian's kernel (quota_v2), which the host's kernel may not have.
# Stage 1: the daemon formats the pool with user quota; uid 1000 writing
# past its 1 MiB gets EDQUOT with its data intact, uid 1001 and root fill
# pool files, uid 1002's 2 MiB memfd makes REBOOT --kexec fail EDQUOT with
# the uid and session named and nothing frozen; then, uid 1001 holding a
# session with a pool file it made setuid (fs.protected_hardlinks on) and
# a memfd, within its limit, a REBOOT --kexec succeeds.  Stage 2: the
# next kernel's daemon mounts the pool with its quota; uid 1001 gets its
# files back byte for byte, the pool file still its own; uid 1000 is
# held to its limit again.

QUOTA_CLIENT=/usr/local/libexec/luo-kexec/quota-client
QUOTA_SOCK=/run/liveupdate/liveupdate.sock
QUOTA_GID=2000
QUOTA_LIMIT=1048576

quota_daemon() {
	grep -q '^luoq:' /etc/group 2>/dev/null ||
		echo "luoq:x:$QUOTA_GID:" >>/etc/group
	start_daemon --max-pool-per-user 1M --group luoq
}

quota() {
	$QUOTA_CLIENT $QUOTA_SOCK $QUOTA_GID "$@"
}

stage1() {
	quota_daemon
	say "pool mounted at $(pool_mount)"
	quota fill 1000 $QUOTA_LIMIT || fail "uid 1000 was not held to its limit"
	quota half 1001 $QUOTA_LIMIT || fail "uid 1001 could not write"
	quota root 4194304 || fail "root could not write"
	quota refuse 1002 $QUOTA_LIMIT /boot/vmlinuz-$KVER \
		/boot/initrd.img-$KVER || fail "REBOOT --kexec was not refused"
	echo 1 >/proc/sys/fs/protected_hardlinks
	mkfifo -m 666 /run/kept
	quota keep 1001 $QUOTA_LIMIT /run/kept &
	read -r line </run/kept
	[ "$line" = kept ] || fail "uid 1001 could not keep its files"
	mark kexec-exec
	$KEXEC_CMD --append "$(next_cmdline 2)"
	fail "still running after REBOOT --kexec"
}

stage2() {
	quota_daemon
	quota check 1001 $QUOTA_LIMIT ||
		fail "uid 1001's files did not cross the kexec"
	quota fill 1000 $QUOTA_LIMIT ||
		fail "uid 1000 was not held to its limit after the kexec"
	stop_daemon
	pass
}
