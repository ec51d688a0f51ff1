// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Ten reboots in a row.  After each one the agent retrieves its session,
 * checks the data, finishes, and preserves the same memfds again in a new
 * session, as a VMM carrying guest memory through repeated updates does.
 * The update number counts every reboot, and the daemon's fd count and
 * the data stay the same throughout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define REBOOTS	10
#define FILES	16

static void preserve_all(const char *sock, int round, const int *mfds, int *sfd)
{
	char name[32];
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE);

	dh_check(dev >= 0);
	snprintf(name, sizeof(name), "round-%d", round);
	*sfd = luo_create_session(dev, name);
	dh_check(*sfd >= 0);
	for (int i = 0; i < FILES; i++)
		dh_check_eq(luo_session_preserve_fd(*sfd, mfds[i],
						    (uint64_t)i * 1000 + 1), 0);
	luo_close(dev);
}

/* Retrieve round @round's files into @mfds, check them, finish. */
static void retrieve_all(const char *sock, int round, int *mfds)
{
	char name[32];
	int dev = luo_open_at(sock, LUO_OPEN_DEVICE), sfd;

	dh_check(dev >= 0);
	snprintf(name, sizeof(name), "round-%d", round);
	sfd = luo_retrieve_session(dev, name);
	dh_check(sfd >= 0);
	for (int i = 0; i < FILES; i++) {
		close(mfds[i]);
		mfds[i] = luo_session_retrieve_fd(sfd, (uint64_t)i * 1000 + 1);
		dh_check(mfds[i] >= 0);
		dh_check_eq(lseek(mfds[i], 0, SEEK_CUR), i * 10);
		dh_check(e2e_memfd_ok(mfds[i], (size_t)(i + 1) * 8192, i));
	}
	dh_check_eq(luo_session_finish(sfd), 0);
	luo_close(sfd);
	luo_close(dev);
}

int main(void)
{
	int mfds[FILES], sfd, fds_idle = -1;
	struct luo_status st;
	struct dh_daemon d;
	uint64_t update = 0;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	for (int i = 0; i < FILES; i++)
		mfds[i] = e2e_memfd((size_t)(i + 1) * 8192, i, i * 10);
	for (int r = 0; r < REBOOTS; r++) {
		preserve_all(d.socket, r, mfds, &sfd);
		dh_check_eq(e2e_reboot(d.socket, &update), 0);
		dh_check_eq(update, (uint64_t)r + 2);
		luo_close(sfd);
		retrieve_all(d.socket, r, mfds);
		e2e_status(d.socket, &st);
		dh_check_eq(st.update_number, (uint64_t)r + 2);
		dh_check_eq(st.nr_files, 0);
		/* Nothing accumulates in the daemon from one round to the
		 * next (the first round settles its lazily opened fds). */
		if (r == 1)
			fds_idle = e2e_daemon_fds(&d);
		else if (r > 1)
			dh_check_eq(e2e_daemon_fds(&d), fds_idle);
	}
	for (int i = 0; i < FILES; i++)
		close(mfds[i]);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
