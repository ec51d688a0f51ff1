// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RFC state machine through a private liveupdated, with the raw
 * requests (luo_ioctl): GET_STATE on device and control opens, SET_EVENT
 * on both, EBUSY for CREATE_SESSION and PRESERVE_FD in PREPARED,
 * UNPRESERVE_FD, a reboot from PREPARED into UPDATED, and FINISH back to
 * NORMAL discarding what was not retrieved.  The daemon's fds are counted
 * at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static int get_state(int fd)
{
	struct luo_ioctl_get_state gs = { .size = sizeof(gs), .state = 99 };
	int ret = luo_ioctl(fd, LUO_IOCTL_GET_STATE, &gs);

	return ret ? ret : (int)gs.state;
}

static int set_event(int fd, uint32_t event)
{
	struct luo_ioctl_set_event se = { .size = sizeof(se), .event = event };

	return luo_ioctl(fd, LUO_IOCTL_SET_EVENT, &se);
}

static int unpreserve(int sfd, uint64_t token)
{
	struct luo_session_unpreserve_fd up = {
		.size = sizeof(up),
		.token = token,
	};

	return luo_ioctl(sfd, LUO_SESSION_UNPRESERVE_FD, &up);
}

static int preserve_new(int sfd, uint64_t token, uint64_t seed)
{
	int m = e2e_memfd(8192, seed, 0), ret;

	ret = luo_session_preserve_fd(sfd, m, token);
	close(m);
	return ret;
}

/* Stage 1: session "s" with tokens 1 and 2 left preserved, PREPARED. */
static int stage1(const char *sock, int ctl)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, m;
	uint32_t bad[4] = { 16, LIVEUPDATE_PREPARE, 0, 1 };
	uint64_t update = 0;

	dh_check(dev >= 0);
	dh_check_eq(get_state(dev), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(get_state(ctl), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(set_event(dev, LIVEUPDATE_FREEZE), -EINVAL);
	dh_check_eq(set_event(ctl, LIVEUPDATE_FINISH), -EINVAL);
	dh_check_eq(set_event(ctl, LIVEUPDATE_CANCEL), -EINVAL);
	dh_check_eq(set_event(ctl, 7), -EINVAL);
	dh_check_eq(luo_ioctl(dev, LUO_IOCTL_SET_EVENT, bad), -E2BIG);

	sfd = luo_create_session(dev, "s");
	dh_check(sfd >= 0);
	dh_check_eq(preserve_new(sfd, 1, 1), 0);
	dh_check_eq(preserve_new(sfd, 2, 2), 0);
	dh_check_eq(preserve_new(sfd, 3, 3), 0);
	dh_check_eq(unpreserve(sfd, 3), 0);
	dh_check_eq(unpreserve(sfd, 3), -ENOENT);

	/* PREPARE on the device, CANCEL on the control open, PREPARE again. */
	dh_check_eq(set_event(dev, LIVEUPDATE_PREPARE), 0);
	dh_check_eq(get_state(ctl), LIVEUPDATE_STATE_PREPARED);
	dh_check_eq(set_event(ctl, LIVEUPDATE_PREPARE), -EINVAL);
	dh_check_eq(luo_create_session(dev, "t"), -EBUSY);
	m = e2e_memfd(4096, 9, 0);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 4), -EBUSY);
	dh_check_eq(unpreserve(sfd, 1), -EBUSY);
	dh_check_eq(set_event(ctl, LIVEUPDATE_CANCEL), 0);
	dh_check_eq(get_state(dev), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(luo_session_preserve_fd(sfd, m, 1), -EEXIST);
	close(m);
	/* A reboot that fails after the freeze cancels: NORMAL, tokens kept. */
	dh_check_eq(set_event(ctl, LIVEUPDATE_PREPARE), 0);
	m = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dh_check(m >= 0);
	dh_check(luo_reboot(ctl, m, &update) < 0);
	close(m);
	dh_check_eq(get_state(dev), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(unpreserve(sfd, 7), -ENOENT);
	dh_check_eq(set_event(ctl, LIVEUPDATE_PREPARE), 0);
	dh_check_eq(get_state(dev), LIVEUPDATE_STATE_PREPARED);
	luo_close(dev);
	return sfd;
}

/* Stage 2: UPDATED; token 1 retrieved, token 2 discarded by FINISH. */
static void stage2(const char *sock, int ctl)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, m, out;

	dh_check(dev >= 0);
	dh_check_eq(get_state(dev), LIVEUPDATE_STATE_UPDATED);
	dh_check_eq(set_event(dev, LIVEUPDATE_PREPARE), -EINVAL);
	dh_check_eq(set_event(dev, LIVEUPDATE_CANCEL), -EINVAL);
	sfd = luo_retrieve_session(dev, "s");
	dh_check(sfd >= 0);
	dh_check_eq(unpreserve(sfd, 1), -EINVAL);	/* incoming */
	m = luo_session_retrieve_fd(sfd, 1);
	dh_check(m >= 0);
	dh_check(e2e_memfd_ok(m, 8192, 1));
	/* New sessions are fine in UPDATED; unpreserving is not. */
	out = luo_create_session(dev, "next");
	dh_check(out >= 0);
	dh_check_eq(preserve_new(out, 1, 5), 0);
	dh_check_eq(unpreserve(out, 1), -EBUSY);

	dh_check_eq(set_event(ctl, LIVEUPDATE_FINISH), 0);
	dh_check_eq(get_state(dev), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(set_event(ctl, LIVEUPDATE_FINISH), -EINVAL);
	dh_check_eq(luo_session_retrieve_fd(sfd, 2), -ENOENT);
	dh_check_eq(luo_session_finish(sfd), 0);
	dh_check(e2e_memfd_ok(m, 8192, 1));
	close(m);
	dh_check_eq(unpreserve(out, 1), 0);
	luo_close(out);
	luo_close(sfd);
	luo_close(dev);
}

int main(void)
{
	struct dh_daemon d;
	struct luo_status st;
	uint64_t update = 0;
	int ctl, sfd, fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	sfd = stage1(d.socket, ctl);
	luo_close(ctl);

	/* The agent keeps its session fd until the reboot, as before a kexec. */
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	dh_check_eq(update, 2);
	luo_close(sfd);

	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	stage2(d.socket, ctl);
	e2e_status(d.socket, &st);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_files, 0);
	luo_close(ctl);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
