// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An UPGRADE into an image that refuses the handover (rb-image "refuse":
 * liveupdated --refuse-handover), that dies before taking over ("kill",
 * the keeper rolls back) or that hangs ("hang", the keeper's deadline)
 * fails with the errno REBOOT would, and leaves everything as it was
 * (issue 9, item 1): every session in its direction and state, the update
 * number, REBOOT's failure counters, every connection, the device hold
 * and every session fd.  An UPGRADE right after it succeeds.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "up.h"

static const char *rb_image(void)
{
	const char *p = getenv("LUO_RB_IMAGE_PATH");

	if (!p || !*p)
		dh_skip("LUO_RB_IMAGE_PATH is not set");
	return p;
}

static void test_failed(const char *mode, int err, bool new_pid, int sig,
			bool vault)
{
	static const char *const args[] = { "--takeover-timeout=500", NULL };
	static const char *const keeper[] = {
		"--takeover-timeout=500", "--no-vault", NULL,
	};
	struct up_snap before, after;
	struct up_state s;
	struct dh_daemon d;

	setenv("LUO_RB_IMAGE", mode, 1);
	dh_check_eq(dh_start(&d, vault ? args : keeper), 0);
	up_setup(d.socket, &s);
	up_snap(d.socket, &before);
	dh_check_eq(up_upgrade(d.socket, rb_image()), -err);
	if (new_pid && !vault) {
		/* The keeper ran the old image; the one that died is reaped. */
		dh_check_eq(dh_wait(&d), dh_exit_code(sig));
		up_snap(d.socket, &after);
		d.pid = (pid_t)after.st.pid;
	}
	up_snap(d.socket, &after);
	up_same(&before, &after);
	dh_check(new_pid ? after.st.pid != before.st.pid :
		 after.st.pid == before.st.pid);
	/* REBOOT's counters are REBOOT's. */
	dh_check_eq(after.st.failed_reboots, 0);
	dh_check_eq(after.st.last_reboot_error, 0);
	dh_check_eq(up_upgrade(d.socket, NULL), 0);
	up_snap(d.socket, &after);
	up_same(&before, &after);
	up_check_alive(d.socket, &s);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	/* The keeper's rollback runs the old image as our child. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	test_failed("refuse", EPROTO, false, 0, false);
	test_failed("kill", ENOEXEC, true, SIGKILL, false);
	test_failed("hang", ETIMEDOUT, true, SIGKILL, false);
	/* Under the vault: it kills or sees die the new image, and recovers
	 * the engine (a new pid; the vault's stays). */
	test_failed("refuse", EPROTO, false, 0, true);
	test_failed("kill", ENOEXEC, true, SIGKILL, true);
	test_failed("hang", ETIMEDOUT, true, SIGKILL, true);
	return DH_PASS;
}
