// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * eventfds through the daemon and a reboot: counters, EFD_SEMAPHORE and
 * O_NONBLOCK; 1,000 eventfds in one session (all on one anon inode, told
 * apart by their open file descriptions); EBUSY for one preserved twice;
 * a signalfd and an epoll fd refused with ENOENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "e2e.h"

#define N	1000

static void stage1(int sfd)
{
	sigset_t set;
	int e, d, x;

	for (int i = 0; i < N; i++) {
		e = eventfd((unsigned int)i, EFD_CLOEXEC |
			    (i % 2 ? EFD_SEMAPHORE : 0) | (i % 3 ? EFD_NONBLOCK : 0));
		dh_check(e >= 0);
		dh_check_eq(luo_session_preserve_fd(sfd, e, (uint64_t)i), 0);
		if (i == 0) {
			d = dup(e);
			dh_check_eq(luo_session_preserve_fd(sfd, d, N), -EBUSY);
			close(d);
		}
		close(e);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	x = signalfd(-1, &set, SFD_CLOEXEC);
	dh_check_eq(luo_session_preserve_fd(sfd, x, N + 1), -ENOENT);
	close(x);
	x = epoll_create1(EPOLL_CLOEXEC);
	dh_check_eq(luo_session_preserve_fd(sfd, x, N + 2), -ENOENT);
	close(x);
}

static void check(int sfd, int i)
{
	int e = luo_session_retrieve_fd(sfd, (uint64_t)i);
	uint64_t v = 0;

	dh_check(e >= 0);
	dh_check_eq(!!(fcntl(e, F_GETFL) & O_NONBLOCK), !!(i % 3));
	if (i % 3 == 0) {
		/* Blocking: only read what is there. */
		if (i) {
			dh_check_eq(read(e, &v, sizeof(v)), sizeof(v));
			dh_check_eq(v, i % 2 ? 1 : i);
		}
	} else {
		dh_check_eq(read(e, &v, sizeof(v)), sizeof(v));
		dh_check_eq(v, i % 2 ? 1 : i);
		if (i % 2 == 0 || i == 1) {
			dh_check_eq(read(e, &v, sizeof(v)), -1);
			dh_check_eq(errno, EAGAIN);
		}
	}
	close(e);
}

int main(void)
{
	struct dh_daemon d;
	uint64_t update = 0;
	int dev, sfd, fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	sfd = luo_create_session(dev, "events");
	dh_check(dev >= 0 && sfd >= 0);
	stage1(sfd);
	luo_close(dev);
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	luo_close(sfd);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	sfd = luo_retrieve_session(dev, "events");
	dh_check(dev >= 0 && sfd >= 0);
	for (int i = 0; i < N; i++)
		check(sfd, i);
	dh_check_eq(luo_session_finish(sfd), 0);
	luo_close(sfd);
	luo_close(dev);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
