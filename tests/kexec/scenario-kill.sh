# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario "kill", sourced by /init (issue 11, point 3c): the daemon
# killed after freeze and before the kexec, and the next attempt losing
# nothing.  Stage 1, with the files and sessions of scenario pool:
#  1. REBOOT --kexec; once it has frozen the sessions and starts the
#     handover (handover.new appears in the pool), kexec-client kills every
#     liveupdated process with SIGKILL.  It still holds its files; a new
#     liveupdated on the pool must serve no session from the torn handover,
#     and the client preserves everything again.
#  2. REBOOT --kexec again; once the complete handover is in the pool
#     (renamed to "handover", while the kernel is being loaded), every
#     liveupdated process is killed, and kexec-client exits: nothing but
#     the pool holds the files any more.
#  3. A new liveupdated on the same pool, same boot, serves the sessions
#     as incoming; kexec-client carry retrieves and verifies every file,
#     preserves them again in new sessions and runs REBOOT --kexec.
# Stage 2 verifies everything as scenario pool does: nothing was lost.

stage1() {
	local mnt
	start_daemon
	mnt=$(pool_mount)
	[ -n "$mnt" ] || fail "the pool is not mounted"
	$CLIENT create --dax --pool $POOL --pool-dir "$mnt" \
		--kill-at handover.new --kill-at handover \
		-- $KEXEC_CMD --append "$(next_cmdline 2)" ||
		fail "kexec-client create"
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
