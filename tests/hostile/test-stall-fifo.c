// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A FIFO with no reader (its write end) and one with no writer (its read
 * end): opening either end again would block, and so would a read or a
 * write on a blocking description.  pipe-v1 never opens, reads nor writes
 * a FIFO (retrieve hands out the very description that was preserved), so
 * preserve, hand-over, retrieve, discard and SIGTERM go on while another
 * client's STATUS round trips stay under 10 ms (issue 8 item 9, the review).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "stall.h"

/* Both lonely ends of the FIFO @path: [0] no writer, [1] no reader. */
static void lonely_ends(const char *path, int end[2])
{
	int both = open(path, O_RDWR | O_CLOEXEC);

	dh_check(both >= 0);
	end[0] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	end[1] = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	dh_check(end[0] >= 0 && end[1] >= 0);
	close(both);
	/* Back to blocking: a read or write would now wait for ever. */
	dh_check_eq(fcntl(end[0], F_SETFL, O_RDONLY), 0);
	dh_check_eq(fcntl(end[1], F_SETFL, O_WRONLY), 0);
}

int main(void)
{
	char dir[] = "/tmp/luo-fifo-XXXXXX", path[64];
	struct dh_daemon d;
	int dev, ctl, sfd, end[2], got[2];

	dh_check(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	dh_check_eq(mkfifo(path, 0600), 0);
	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	ctl = stall_control(d.socket);

	lonely_ends(path, end);
	sfd = luo_create_session(dev, "fifo");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, end[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, end[1], 2), 0);
	stall_probe(ctl, "FIFO ends preserved");
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "fifo");
	dh_check(sfd >= 0);
	got[0] = luo_session_retrieve_fd(sfd, 1);
	got[1] = luo_session_retrieve_fd(sfd, 2);
	dh_check(got[0] >= 0 && got[1] >= 0);
	stall_probe(ctl, "FIFO ends retrieved");
	dh_check_eq(fcntl(got[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	dh_check_eq(fcntl(got[1], F_GETFL) & O_ACCMODE, O_WRONLY);
	close(got[0]);
	close(got[1]);
	close(sfd);	/* finished on close: the daemon closes its ends */
	stall_probe(ctl, "FIFO ends discarded");

	sfd = luo_create_session(dev, "fifo-kept");
	dh_check(sfd >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, end[0], 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, end[1], 2), 0);
	close(end[0]);
	close(end[1]);
	stall_sigterm(&d, "FIFO ends held");
	close(sfd);
	close(ctl);
	close(dev);
	dh_cleanup(&d);
	unlink(path);
	rmdir(dir);
	return DH_PASS;
}
