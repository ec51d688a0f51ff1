// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A new image that dies before it has taken over loses nothing: the
 * keeper runs the old image again with the handover, under a new pid.
 * Covered: a program that is not liveupdated at all (/bin/true), and
 * images that SIGKILL themselves, die of SIGSEGV or abort().  REBOOT
 * fails with ENOEXEC; everything comes back under the same update number.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb.h"

static void crash(const char *mode, const char *image, int status,
		  bool vault)
{
	const struct rb_case c = {
		.mode = mode, .image = image, .err = ENOEXEC,
		.failure = "died before taking over", .new_pid = true,
		.status = status, .vault = vault,
	};

	rb_run(&c);
}

int main(void)
{
	/* The rolled-back daemon's parent dies: it becomes ours to reap. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	if (access("/bin/true", X_OK) == 0)
		crash(NULL, "/bin/true", 0, false);
	crash("exit", rb_image(), 0, false);
	crash("kill", rb_image(), SIGKILL, false);
	crash("segv", rb_image(), SIGSEGV, false);
	crash("abort", rb_image(), SIGABRT, false);
	/* Under the vault: it recovers the engine, which answers ENOEXEC. */
	if (access("/bin/true", X_OK) == 0)
		crash(NULL, "/bin/true", 0, true);
	crash("exit", rb_image(), 0, true);
	crash("kill", rb_image(), SIGKILL, true);
	return DH_PASS;
}
