// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pipes and FIFOs through the daemon and a reboot: both ends of a pipe with
 * unread bytes, and a FIFO with its bytes; each end comes back as that end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"

int main(void)
{
	char fifo[PATH_MAX + 8], got[16];
	struct dh_daemon d;
	uint64_t update = 0;
	int dev, sfd, p[2], f, r, w, fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	snprintf(fifo, sizeof(fifo), "%s/fifo", d.dir);
	dh_check_eq(mkfifo(fifo, 0600), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	sfd = luo_create_session(dev, "pipes");
	dh_check(dev >= 0 && sfd >= 0);
	dh_check_eq(pipe2(p, O_CLOEXEC), 0);
	dh_check_eq(write(p[1], "in the pipe", 11), 11);
	f = open(fifo, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	dh_check(f >= 0);
	dh_check_eq(write(f, "fifo", 4), 4);
	dh_check_eq(luo_session_preserve_fd(sfd, p[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, p[1], 2), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, f, 3), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, p[0], 4), -EBUSY);
	close(p[0]);
	close(p[1]);
	close(f);
	luo_close(dev);
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	luo_close(sfd);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	sfd = luo_retrieve_session(dev, "pipes");
	dh_check(dev >= 0 && sfd >= 0);
	r = luo_session_retrieve_fd(sfd, 1);
	w = luo_session_retrieve_fd(sfd, 2);
	f = luo_session_retrieve_fd(sfd, 3);
	dh_check(r >= 0 && w >= 0 && f >= 0);
	dh_check_eq(fcntl(r, F_GETFL) & O_ACCMODE, O_RDONLY);
	dh_check_eq(fcntl(w, F_GETFL) & O_ACCMODE, O_WRONLY);
	dh_check_eq(read(r, got, sizeof(got)), 11);
	dh_check(!memcmp(got, "in the pipe", 11));
	dh_check_eq(write(w, "!", 1), 1);
	dh_check_eq(read(r, got, sizeof(got)), 1);
	dh_check_eq(read(f, got, sizeof(got)), 4);
	dh_check(!memcmp(got, "fifo", 4));
	dh_check_eq(luo_session_finish(sfd), 0);
	close(r);
	close(w);
	close(f);
	luo_close(sfd);
	luo_close(dev);
	unlink(fifo);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
