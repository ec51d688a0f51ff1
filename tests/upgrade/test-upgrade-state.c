// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * UPGRADE keeps the daemon's whole state (issue 9, item 1): outgoing,
 * parked, incoming retrieved and not, a retrieved file, the update number,
 * the RFC state (UPDATED, then PREPARED), the device hold, every session
 * fd and connection, and the pid; LIST says exactly what it said before.
 * Twice in a row, with the same binary and with a new image by fd.  Then
 * everything works and comes back whole.  Before UPGRADE existed the
 * request was EINVAL (no such command).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "up.h"

static void test_keeps_everything(void)
{
	struct up_snap before, after;
	struct up_state s;
	struct dh_daemon d;

	dh_check_eq(dh_start(&d, NULL), 0);
	up_setup(d.socket, &s);
	up_snap(d.socket, &before);
	dh_check_eq(before.state, LIVEUPDATE_STATE_UPDATED);
	dh_check_eq(before.st.nr_outgoing, 1);
	dh_check_eq(before.st.nr_incoming, 3);
	dh_check_eq(up_upgrade(d.socket, NULL), 0);
	up_snap(d.socket, &after);
	up_same(&before, &after);
	dh_check_eq(after.st.pid, dh_engine_pid(&d));
	dh_check_eq(up_upgrade(d.socket, dh_binary()), 0);
	up_snap(d.socket, &after);
	up_same(&before, &after);
	dh_check_eq(after.st.pid, dh_engine_pid(&d));
	up_check_alive(d.socket, &s);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

/* PREPARED stays PREPARED: the outgoing set stays sealed, CANCEL works. */
static void test_keeps_prepared(void)
{
	struct luo_ioctl_set_event ev = { .size = sizeof(ev) };
	struct luo_ioctl_get_state gs = { .size = sizeof(gs) };
	struct dh_daemon d;
	int dev, sfd, ctl;

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_create_session(dev, "s");
	dh_check(sfd >= 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	ev.event = LIVEUPDATE_PREPARE;
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_SET_EVENT, &ev), 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_GET_STATE, &gs), 0);
	dh_check_eq(gs.state, LIVEUPDATE_STATE_PREPARED);
	dh_check_eq(luo_create_session(dev, "t"), -EBUSY);
	ev.event = LIVEUPDATE_CANCEL;
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_SET_EVENT, &ev), 0);
	dh_check_eq(luo_upgrade(ctl, -1), 0);
	dh_check_eq(luo_ioctl(ctl, LUO_IOCTL_GET_STATE, &gs), 0);
	dh_check_eq(gs.state, LIVEUPDATE_STATE_NORMAL);
	close(sfd);
	sfd = luo_create_session(dev, "t");
	dh_check(sfd >= 0);
	close(sfd);
	luo_close(ctl);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

/* The request's own rules: flags, fd, and the device open too. */
static void test_request(void)
{
	struct luo_upgrade arg = { .size = sizeof(arg), .flags = 2 };
	struct dh_daemon d;
	int dev;

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(luo_ioctl(dev, LUO_IOCTL_UPGRADE, &arg), -EOPNOTSUPP);
	arg.flags = LUO_UPGRADE_EXEC_FD;
	dh_check_eq(luo_ioctl(dev, LUO_IOCTL_UPGRADE, &arg), -EBADF);
	dh_check_eq(luo_upgrade(dev, -5), -EBADF);
	dh_check_eq(luo_upgrade(dev, -1), 0);
	dh_check_eq(luo_upgrade(dev, -1), 0);
	luo_close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
}

int main(void)
{
	test_request();
	test_keeps_everything();
	test_keeps_prepared();
	return DH_PASS;
}
