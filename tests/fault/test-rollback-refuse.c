// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rollback of a self-upgrade the new image refuses: a liveupdated that
 * refuses the handover (--refuse-handover, through rb-image) executes the
 * old image again with it; REBOOT fails with EPROTO under the same pid and
 * update number, and every session comes back.  An image that cannot be
 * executed at all fails with execveat()'s errno and changes nothing: the
 * sessions stay outgoing, their fds alive, and the keeper is reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rb.h"

static void test_refused(void)
{
	const struct rb_case c = {
		.mode = "refuse", .image = rb_image(), .err = EPROTO,
		.failure = "--refuse-handover",
	};

	rb_run(&c);
}

/* A file that is not executable (@mode 0600) or not a program (0700). */
static void test_cannot_exec(mode_t mode, int err)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct dh_daemon d;
	struct luo_status st;
	uint64_t upd = 0;
	int dev, sfd, ctl, exe, base, r;

	dh_check_eq(dh_start(&d, NULL), 0);
	base = e2e_daemon_fds(&d);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "kept");
	dh_check(sfd >= 0);
	exe = e2e_memfd(4096, 5, 0);
	dh_check_eq(luo_session_preserve_fd(sfd, exe, 5), 0);
	close(exe);
	exe = memfd_create("not-a-program", MFD_CLOEXEC);
	dh_check_eq(write(exe, "garbage!", 8), 8);
	dh_check_eq(fchmod(exe, mode), 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	r = luo_reboot(ctl, exe, &upd);
	/* valgrind --trace-children emulates execveat and says ENOENT */
	dh_check(r == -err || r == -ENOENT);
	close(exe);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.update_number, 1);
	dh_check_eq(st.pid, dh_engine_pid(&d));
	dh_check_eq(st.failed_reboots, 1);
	dh_check_eq(st.last_reboot_error, -r);
	dh_check(strstr(st.last_reboot_failure, "cannot execute the new image"));
	dh_check_eq(st.nr_outgoing, 1);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), 0);
	dh_check_eq(rb_children(dh_engine_pid(&d)), 0);
	luo_close(ctl);
	close(sfd);
	luo_close(dev);
	dh_check_eq(e2e_daemon_fds(&d), base);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	test_refused();
	test_cannot_exec(0600, EACCES);
	test_cannot_exec(0700, ENOEXEC);
	return DH_PASS;
}
