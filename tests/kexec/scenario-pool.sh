# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario "pool", sourced by /init (issue 11, point 3a).  Stage 1:
# liveupdated --pool /dev/pmem0 formats and mounts the pool; kexec-client
# creates sessions with pool files (72 MiB through a mapping, five small
# ones), two ordinary memfds and a manifest of SHA-256 digests, and runs
# liveupdatectl reboot --kexec while it holds them.  Stage 2: liveupdated
# with the same pool serves them as incoming; kexec-client retrieves every
# file, verifies every byte and digest and finishes; a daemon started
# again on the pool finds the handover consumed.

stage1() {
	start_daemon
	say "pool mounted at $(pool_mount)"
	$CLIENT create --dax -- $KEXEC_CMD --append "$(next_cmdline 2)" ||
		fail "kexec-client create"
	fail "still running after REBOOT --kexec"
}

stage2() {
	local t
	t=$(uptime_s)
	start_daemon
	timed daemon-start "$t"
	t=$(uptime_s)
	$CLIENT check --dax || fail "kexec-client check"
	timed retrieve-verify "$t"
	stop_daemon
	start_daemon
	$CLIENT gone pool-big pool-small memfd manifest ||
		fail "the handover was read twice"
	stop_daemon
	pass
}
