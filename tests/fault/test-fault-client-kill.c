// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kill -9 of a client between every pair of calls of a full cycle: open,
 * create, preserve, preserve, reboot, open, retrieve session, retrieve fd,
 * finish, close.  A child does the first k calls and SIGKILLs itself; then
 * what the rules say survives does (SPEC.md 3.4-3.7):
 *
 *  - before the reboot, the session fd's last close unpreserves everything:
 *    the session and its files are gone and the name is free again;
 *  - after the reboot and before RETRIEVE_SESSION, the session is incoming
 *    and untouched, its data intact, retrievable by the next client;
 *  - once retrieved, the close is an implicit FINISH: the session is gone
 *    (RETRIEVE_SESSION: ENOENT), its files finished or discarded.
 *
 * Each time the daemon then serves a whole cycle for the next client, and
 * ends with exactly the fds it had at the start.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ft.h"

#define NAME		"victim"
#define SEED_A		101
#define SEED_B		202
#define NR_STEPS	10

/* The cycle's calls 1..@k, then SIGKILL.  Exit 2 + n if call n fails. */
static void child(const char *sock, int k)
{
	int dev = -1, sfd = -1, a, b, fd;
	uint64_t upd;

	a = ft_memfd("kill-a", SEED_A);
	b = ft_memfd("kill-b", SEED_B);
	for (int n = 1; n <= k; n++) {
		int r = 0;

		switch (n) {
		case 1:
		case 6:
			r = dev = luo_open_at(sock, LUO_OPEN_DEVICE);
			break;
		case 2:
			r = sfd = luo_create_session(dev, NAME);
			break;
		case 3:
			r = luo_session_preserve_fd(sfd, a, 1);
			break;
		case 4:
			r = luo_session_preserve_fd(sfd, b, 2);
			break;
		case 5:
			/* The old image's connections end with it. */
			r = e2e_reboot(sock, &upd);
			luo_close(dev);
			luo_close(sfd);
			break;
		case 7:
			r = sfd = luo_retrieve_session(dev, NAME);
			break;
		case 8:
			fd = luo_session_retrieve_fd(sfd, 1);
			r = fd >= 0 && ft_memfd_ok(fd, SEED_A) ? 0 : -1;
			break;
		case 9:
			r = luo_session_finish(sfd);
			break;
		case 10:
			r = luo_close(sfd);
			break;
		}
		if (r < 0)
			_exit(2 + n);
	}
	raise(SIGKILL);
	_exit(1);
}

/* The next client: the incoming session is whole; retrieve, finish. */
static void take_incoming(const char *sock)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, a, b;

	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, NAME);
	dh_check(sfd >= 0);
	a = luo_session_retrieve_fd(sfd, 1);
	b = luo_session_retrieve_fd(sfd, 2);
	dh_check(a >= 0 && b >= 0);
	dh_check(ft_memfd_ok(a, SEED_A));
	dh_check(ft_memfd_ok(b, SEED_B));
	dh_check_eq(luo_session_finish(sfd), 0);
	dh_check_eq(luo_close(sfd), 0);
	dh_check_eq(luo_close(dev), 0);
	close(a);
	close(b);
}

/* A whole cycle with the same name: the daemon serves normally. */
static void full_cycle(const char *sock)
{
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd, a, b;
	uint64_t upd;

	dh_check(dev >= 0);
	sfd = luo_create_session(dev, NAME);
	dh_check(sfd >= 0);
	a = ft_memfd("next-a", SEED_A);
	b = ft_memfd("next-b", SEED_B);
	dh_check_eq(luo_session_preserve_fd(sfd, a, 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, b, 2), 0);
	close(a);
	close(b);
	dh_check_eq(e2e_reboot(sock, &upd), 0);
	luo_close(sfd);
	luo_close(dev);
	take_incoming(sock);
}

static void check_after(const struct dh_daemon *d, int k)
{
	const struct luo_list_record *r;
	struct ft_list l;
	int dev;

	ft_list(d->socket, &l);
	if (k == 5 || k == 6) {
		dh_check_eq(l.n, 3);
		r = ft_session(&l, NAME);
		dh_check(r != NULL);
		dh_check_eq(r->direction, LUO_INCOMING);
		dh_check_eq(r->state, LUO_SESSION_OPEN);
		dh_check_eq(r->nr_files, 2);
		take_incoming(d->socket);
		ft_list(d->socket, &l);
	}
	/* Nothing left: gone before the reboot, finished after it. */
	dh_check_eq(l.n, 0);
	dev = luo_open_at(d->socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	dh_check_eq(luo_retrieve_session(dev, NAME), -ENOENT);
	dh_check_eq(luo_close(dev), 0);
}

int main(void)
{
	struct dh_daemon d;
	int base, k;

	ft_start(&d, NULL);
	base = e2e_daemon_fds(&d);
	dh_check(base > 0);
	for (k = 1; k <= NR_STEPS; k++) {
		pid_t pid = fork();

		dh_check(pid >= 0);
		if (pid == 0)
			child(d.socket, k);
		dh_check_eq(ft_reap(pid), 128 + SIGKILL);
		check_after(&d, k);
		dh_check_eq(e2e_daemon_fds(&d), base);
		full_cycle(d.socket);
		dh_check_eq(e2e_daemon_fds(&d), base);
	}
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
