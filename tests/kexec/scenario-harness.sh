# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario "harness", sourced by /init: the guest harness proves itself
# with no luo at all.  Stage 1 makes a DAX ext4 on the pmem device, writes
# a 64 MiB file of random bytes (and its SHA-256 in a second file), leaves
# the file system mounted with the file mapped by nobody, and kexecs the
# same kernel and initramfs with kexec_file_load (kexec -s -l; kexec
# calls sync() itself).  Stage 2 mounts the device again and finds the
# file byte for byte (SHA-256 equal).

MNT=/mnt/pool

stage1() {
	local t
	t=$(uptime_s)
	/usr/sbin/mke2fs -q -F -t ext4 -b 4096 -L luo-harness $POOL ||
		fail "mke2fs"
	timed mkfs "$t"
	mkdir -p $MNT
	mount -t ext4 -o dax=always $POOL $MNT || fail "mount -o dax=always"
	dd if=/dev/urandom of=$MNT/data bs=1M count=64 2>/dev/null ||
		fail "write"
	sha256sum $MNT/data | cut -d' ' -f1 >$MNT/data.sha256
	say "data sha256 $(cat $MNT/data.sha256)"
	t=$(uptime_s)
	/usr/sbin/kexec -s -l /boot/vmlinuz-$KVER \
		--initrd=/boot/initrd.img-$KVER \
		--command-line="$(next_cmdline 2)" || fail "kexec -l"
	timed kexec-load "$t"
	mark kexec-exec
	/usr/sbin/kexec -e
	fail "kexec -e returned"
}

stage2() {
	local want got
	mkdir -p $MNT
	mount -t ext4 -o dax=always $POOL $MNT || fail "mount after kexec"
	[ -e /boot/initrd.img-$KVER ] && fail "stage 2 booted the outer archive"
	want=$(cat $MNT/data.sha256) || fail "no data.sha256"
	got=$(sha256sum $MNT/data | cut -d' ' -f1)
	say "data sha256 $got"
	[ "$(stat -c %s $MNT/data)" = 67108864 ] || fail "data has a new size"
	[ "$want" = "$got" ] || fail "data changed: $want != $got"
	pass
}
