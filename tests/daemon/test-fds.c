// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every fd the daemon takes is given back: once clients that opened the
 * device, created sessions, preserved memfds and sent fds with refused
 * requests are gone, the daemon holds exactly the fds it held before.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"
#include "wire-client.h"

static void client(const char *path, int round)
{
	int dev, sfd[4], m, i, junk;
	char name[32];

	dev = luo_open_at(path, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "r%d-s%d", round, i);
		sfd[i] = luo_create_session(dev, name);
		dh_check(sfd[i] >= 0);
		m = memfd_create(name, MFD_CLOEXEC);
		dh_check(m >= 0);
		dh_check_eq(luo_session_preserve_fd(sfd[i], m, 1), 0);
		close(m);
	}
	/* A refused fd, and a connection that never opens. */
	junk = memfd_create("junk", MFD_CLOEXEC);
	dh_check_eq(wc_send(dev, LUO_IOCTL_STATUS, "\x58\0\0\0", 4, &junk, 1),
		    0);
	close(junk);
	junk = wc_connect(path);
	dh_check(junk >= 0);
	for (i = 0; i < 4; i++)
		close(sfd[i]);
	close(junk);
	close(dev);	/* with the STATUS reply unread */
}

int main(void)
{
	struct luo_status st;
	struct dh_daemon d;
	int ctl, base, i;

	dh_check_eq(dh_start(&d, NULL), 0);
	ctl = luo_open_at(d.socket, LUO_OPEN_CONTROL);
	dh_check(ctl >= 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	base = dh_count_fds(dh_engine_pid(&d));
	dh_check(base > 0);
	for (i = 0; i < 10; i++)
		client(d.socket, i);
	/*
	 * Closes are seen before later requests; a connection closed before
	 * it was even accepted is accepted (and seen closed) by the first of
	 * these round trips at the latest, before the second.
	 */
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(luo_status(ctl, &st), 0);
	dh_check_eq(st.nr_outgoing, 0);
	dh_check_eq(st.nr_files, 0);
	dh_check_eq(dh_count_fds(dh_engine_pid(&d)), base);
	luo_close(ctl);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
