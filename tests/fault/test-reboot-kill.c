// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kill -9 of the daemon at every step of REBOOT (the daemon's kill points,
 * --fault-injection and LUO_FAULT_KILL_AT).
 *
 * Before the keeper exists ("frozen", "written") the daemon's death is the
 * kernel's crash before a kexec: the sessions are gone, every client sees
 * ENODEV, the clients' own files are untouched, and a new daemon starts on
 * the same socket.  From the keeper's start on ("keeper" in the old image;
 * "takeover", "validated", "adopted" in the new one) nothing is lost: the
 * keeper runs the old image again, REBOOT fails with ENOEXEC, and every
 * session, token, byte and position is back under the same update number.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rb.h"

#define SIZE	(256u << 10)

static char flag[PATH_MAX];

static void kill_at(const char *step)
{
	char spec[PATH_MAX + 32];

	snprintf(flag, sizeof(flag), "%s/luo-kill-XXXXXX", P_tmpdir);
	dh_check(mkdtemp(flag) != NULL);
	snprintf(spec, sizeof(spec), "%s:%s/done", step, flag);
	setenv("LUO_FAULT_KILL_AT", spec, 1);
}

static void kill_done(void)
{
	char done[PATH_MAX + 8];

	snprintf(done, sizeof(done), "%s/done", flag);
	dh_check_eq(unlink(done), 0);	/* the daemon did die there */
	rmdir(flag);
	unsetenv("LUO_FAULT_KILL_AT");
}

/* Killed before the keeper exists: lost, as in a crash before kexec. */
static void lost(const char *step)
{
	static const char *const args[] = {
		"--fault-injection", "--no-vault", NULL,
	};
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	struct luo_status st;
	struct dh_daemon d, again;
	int dev, sfd, m, ctl;
	uint64_t upd = 0;

	kill_at(step);
	dh_check_eq(dh_start(&d, args), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "doomed");
	dh_check(sfd >= 0);
	m = e2e_memfd(SIZE, 5, 77);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_reboot(ctl, -1, &upd), -ENODEV);
	dh_check_eq(dh_wait(&d), 128 + SIGKILL);
	kill_done();
	dh_check_eq(luo_session_get_name(sfd, name, sizeof(name)), -ENODEV);
	dh_check_eq(luo_status(dev, &st), -ENODEV);
	luo_close(ctl);
	luo_close(sfd);
	luo_close(dev);
	/* The client's own memfd is its own: untouched. */
	dh_check(e2e_memfd_ok(m, SIZE, 5));
	dh_check_eq(lseek(m, 0, SEEK_CUR), 77);
	/* A new daemon takes the stale socket over and starts afresh. */
	dh_check_eq(dh_start_at(&again, d.socket, args), 0);
	e2e_status(again.socket, &st);
	dh_check_eq(st.update_number, 1);
	dh_check_eq(st.nr_outgoing + st.nr_incoming, 0);
	dev = luo_open_at(again.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "doomed");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), 0);
	luo_close(sfd);
	luo_close(dev);
	close(m);
	dh_check_eq(dh_stop(&again), 0);
	dh_cleanup(&d);
}

/* Killed once the keeper holds everything: rolled back, nothing lost. */
static void kept(const char *step)
{
	static const char *const args[] = {
		"--fault-injection", "--no-vault", NULL,
	};
	const struct rb_case c = {
		.image = dh_binary(), .args = args, .err = ENOEXEC,
		.failure = "died before taking over", .new_pid = true,
		.status = SIGKILL,
	};

	kill_at(step);
	rb_run(&c);
	kill_done();
}

int main(void)
{
	/* The rolled-back daemon's parent dies: it becomes ours to reap. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		dh_skip("no PR_SET_CHILD_SUBREAPER");
	lost("frozen");
	lost("written");
	kept("keeper");
	kept("takeover");
	kept("validated");
	kept("adopted");
	return DH_PASS;
}
