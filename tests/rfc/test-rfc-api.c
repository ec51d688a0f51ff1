// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RFC-era libluo API (LIBLUO-RFC.md) against a private liveupdated:
 * every row of its behaviour table, the state machine through it, a reboot
 * from PREPARED into UPDATED, restore and FINISH discarding what was not
 * restored.  Fds of this process and of the daemon are counted at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <luo/liveupdate-rfc.h>

#include "e2e.h"

#define SIZE	16384

static int state(void)
{
	enum liveupdate_state st = LIVEUPDATE_STATE_UNDEFINED;
	int ret = luo_get_state(&st);

	return ret ? ret : (int)st;
}

static int preserve_new(uint64_t token, uint64_t seed)
{
	int m = e2e_memfd(SIZE, seed, 0), ret;

	ret = luo_fd_preserve(m, token);
	close(m);
	return ret;
}

static void strings(void)
{
	dh_check(!strcmp(luo_state_to_string(LIVEUPDATE_STATE_UNDEFINED),
			 "undefined"));
	dh_check(!strcmp(luo_state_to_string(LIVEUPDATE_STATE_NORMAL), "normal"));
	dh_check(!strcmp(luo_state_to_string(LIVEUPDATE_STATE_PREPARED),
			 "prepared"));
	dh_check(!strcmp(luo_state_to_string(LIVEUPDATE_STATE_FROZEN), "frozen"));
	dh_check(!strcmp(luo_state_to_string(LIVEUPDATE_STATE_UPDATED),
			 "updated"));
	dh_check(!strcmp(luo_state_to_string((enum liveupdate_state)5),
			 "unknown"));
	dh_check(!strcmp(luo_state_to_string((enum liveupdate_state)-1),
			 "unknown"));
}

/* Every call before luo_init(): EBADF, whatever the arguments. */
static void before_init(void)
{
	enum liveupdate_state st;
	int fd = -1;

	luo_cleanup();
	dh_check_eq(luo_get_state(&st), -EBADF);
	dh_check_eq(luo_get_state(NULL), -EBADF);
	dh_check_eq(luo_fd_preserve(0, 1), -EBADF);
	dh_check_eq(luo_fd_preserve(-1, 1), -EBADF);
	dh_check_eq(luo_fd_unpreserve(1), -EBADF);
	dh_check_eq(luo_fd_restore(1, &fd), -EBADF);
	dh_check_eq(luo_fd_restore(1, NULL), -EBADF);
	dh_check_eq(fd, -1);
	dh_check_eq(luo_prepare(), -EBADF);
	dh_check_eq(luo_cancel(), -EBADF);
	dh_check_eq(luo_finish(), -EBADF);
}

static void no_daemon(const struct dh_daemon *d)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s.none", d->socket);
	dh_check_eq(setenv("LUO_SOCKET", path, 1), 0);
	dh_check(!luo_is_available());
	dh_check_eq(luo_init(), -ENOENT);
	dh_check_eq(luo_get_state(NULL), -EBADF);
	dh_check_eq(setenv("LUO_SOCKET", d->socket, 1), 0);
}

static void init_twice(const struct dh_daemon *d)
{
	int other = luo_open_at(d->socket, LUO_OPEN_DEVICE), n;

	/* A control open answers even while another agent holds the device. */
	dh_check(other >= 0);
	dh_check(luo_is_available());
	dh_check_eq(luo_init(), -EBUSY);
	luo_close(other);
	dh_check_eq(luo_init(), 0);
	n = dh_count_fds(getpid());
	dh_check_eq(luo_init(), 0);
	dh_check_eq(dh_count_fds(getpid()), n);
	dh_check(luo_is_available());
	dh_check_eq(luo_open_at(d->socket, LUO_OPEN_DEVICE), -EBUSY);
}

static void normal_rules(void)
{
	int m = e2e_memfd(SIZE, 7, 0), fd = -1;

	dh_check_eq(luo_get_state(NULL), -EINVAL);
	dh_check_eq(state(), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(luo_fd_unpreserve(5), -ENOENT);	/* nothing preserved */
	dh_check_eq(luo_fd_preserve(-1, 1), -EINVAL);
	dh_check_eq(luo_fd_preserve(-5, 1), -EINVAL);
	dh_check_eq(preserve_new(1, 1), 0);
	dh_check_eq(preserve_new(2, 2), 0);
	dh_check_eq(luo_fd_preserve(m, 3), 0);
	dh_check_eq(luo_fd_preserve(m, 4), -EBUSY);	/* preserved already */
	dh_check_eq(preserve_new(1, 9), -EEXIST);
	dh_check_eq(luo_fd_preserve(m + 1000, 5), -EBADF);
	dh_check_eq(luo_fd_unpreserve(3), 0);
	dh_check_eq(luo_fd_unpreserve(3), -ENOENT);
	dh_check_eq(luo_fd_preserve(m, 3), 0);		/* free again */
	dh_check_eq(luo_fd_unpreserve(3), 0);
	close(m);
	dh_check_eq(luo_fd_restore(1, NULL), -EINVAL);
	dh_check_eq(luo_fd_restore(1, &fd), -ENOENT);	/* no update yet */
	dh_check_eq(fd, -1);
	dh_check_eq(luo_finish(), -EINVAL);
	dh_check_eq(luo_cancel(), -EINVAL);
	dh_check_eq(state(), LIVEUPDATE_STATE_NORMAL);
}

static void prepared_rules(void)
{
	dh_check_eq(luo_prepare(), 0);
	dh_check_eq(state(), LIVEUPDATE_STATE_PREPARED);
	dh_check_eq(luo_prepare(), -EINVAL);
	dh_check_eq(luo_finish(), -EINVAL);
	dh_check_eq(preserve_new(3, 3), -EBUSY);
	dh_check_eq(luo_fd_unpreserve(1), -EBUSY);
	dh_check_eq(luo_fd_unpreserve(99), -EBUSY);
	dh_check_eq(luo_cancel(), 0);
	dh_check_eq(state(), LIVEUPDATE_STATE_NORMAL);
	dh_check_eq(luo_cancel(), -EINVAL);
	/* Tokens stay valid across CANCEL. */
	dh_check_eq(preserve_new(1, 9), -EEXIST);
	dh_check_eq(preserve_new(2, 9), -EEXIST);
	dh_check_eq(luo_prepare(), 0);
}

static void updated_rules(void)
{
	int fd = -1, fd2 = -1;

	/* The handle of the old image died with it. */
	dh_check(state() < 0);
	luo_cleanup();
	dh_check_eq(luo_init(), 0);
	dh_check_eq(state(), LIVEUPDATE_STATE_UPDATED);
	dh_check_eq(luo_fd_unpreserve(1), -EBUSY);
	dh_check_eq(luo_cancel(), -EINVAL);
	dh_check_eq(luo_prepare(), -EINVAL);
	dh_check_eq(luo_fd_unpreserve(1), -EBUSY);
	dh_check_eq(luo_fd_restore(1, &fd), 0);
	dh_check(fd >= 0);
	dh_check(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	dh_check(e2e_memfd_ok(fd, SIZE, 1));
	dh_check_eq(luo_fd_restore(1, &fd2), 0);	/* again: same file */
	dh_check(fd2 >= 0 && fd2 != fd);
	close(fd2);
	dh_check_eq(luo_fd_restore(42, &fd2), -ENOENT);
	dh_check_eq(luo_finish(), 0);
	dh_check_eq(state(), LIVEUPDATE_STATE_NORMAL);
	dh_check(e2e_memfd_ok(fd, SIZE, 1));
	close(fd);
	/* Token 2 was never restored: discarded. */
	dh_check_eq(luo_fd_restore(2, &fd2), -ENOENT);
	dh_check_eq(luo_finish(), -EINVAL);
}

int main(void)
{
	struct dh_daemon d;
	struct luo_status st;
	int fds_before, own_fds;

	strings();
	before_init();
	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	own_fds = dh_count_fds(getpid());
	fds_before = e2e_daemon_fds(&d);
	no_daemon(&d);
	init_twice(&d);
	normal_rules();
	prepared_rules();

	/* The agent keeps running, holding what it preserved, until the
	 * reboot; the operator reboots over a control open. */
	dh_check_eq(e2e_reboot(d.socket, NULL), 0);
	updated_rules();
	luo_cleanup();
	luo_cleanup();
	before_init();

	e2e_status(d.socket, &st);
	dh_check_eq(st.nr_incoming, 0);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_files, 0);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_count_fds(getpid()), own_fds);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
