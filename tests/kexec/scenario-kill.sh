# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario "kill", sourced by /init (issue 11, point 3c).  Stage 1: as in
# scenario pool, but once REBOOT --kexec has frozen the sessions and
# written the complete handover into the pool (while the kernel is being
# loaded), kexec-client kills every liveupdated process with SIGKILL and
# exits itself: nothing but the pool holds the files any more.  Then the
# next attempt: a new liveupdated on the same pool in the same boot serves
# the sessions as incoming, kexec-client retrieves and verifies every file,
# preserves them again in new sessions and runs REBOOT --kexec.  Stage 2
# verifies everything as in scenario pool: nothing was lost.

stage1() {
	local mnt
	start_daemon
	mnt=$(pool_mount)
	[ -n "$mnt" ] || fail "the pool is not mounted"
	$CLIENT create --dax --kill-at-handover "$mnt" -- $KEXEC_CMD \
		--append "$(next_cmdline 2)" || fail "kexec-client create"
	say "every luo process is gone; the next attempt"
	start_daemon
	$CLIENT carry --dax -- $KEXEC_CMD --append "$(next_cmdline 2)" ||
		fail "kexec-client carry"
	fail "still running after REBOOT --kexec"
}

stage2() {
	start_daemon
	$CLIENT check --dax || fail "kexec-client check"
	stop_daemon
	start_daemon
	$CLIENT gone pool-big pool-small memfd manifest ||
		fail "the handover was read twice"
	stop_daemon
	pass
}
