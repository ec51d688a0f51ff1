# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario "kabi", sourced by /init (issue 11, point 3b): kabi-two-stage,
# written for the kernel's /dev/liveupdate ABI (no libluo), runs under
# luo-run.  Stage 1 preserves an ordinary memfd and holds its fds while
# liveupdatectl reboot --kexec copies the memfd into the pool and kexecs;
# stage 2 retrieves, verifies and finishes under luo-run again.

KABI=/usr/local/libexec/luo-kexec/kabi-two-stage

stage1() {
	local line
	start_daemon
	mkfifo /run/kabi
	luo-run $KABI 1 >/run/kabi &
	read -r line </run/kabi
	[ "$line" = ready ] || fail "kabi-two-stage 1 did not preserve"
	mark kexec-exec
	$KEXEC_CMD --append "$(next_cmdline 2)"
	fail "still running after REBOOT --kexec (exit $?)"
}

stage2() {
	start_daemon
	luo-run $KABI 2 || fail "kabi-two-stage 2"
	$CLIENT gone kabi || fail "the session is still there"
	stop_daemon
	pass
}
