// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A retrieved file is never more than what was preserved (issue 8 item 3,
 * DESIGN.md section 7a): through libluo and the daemon, a read-only
 * description of a memfd, and of an unlinked tmpfs file, comes back
 * read-only after a HANDOVER and after a REBOOT; a read-write one comes
 * back read-write.  memfd-v2 used to reopen every file read-write with the
 * daemon's privileges.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "daemon-harness.h"

static int reopen_as(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/* The mode a retrieved file came back with; checks it reads "data". */
static int check_retrieved(int got, int accmode)
{
	char buf[4];

	dh_check(got >= 0);
	dh_check_eq(fcntl(got, F_GETFL) & O_ACCMODE, accmode);
	dh_check_eq(pread(got, buf, sizeof(buf), 0), 4);
	dh_check(!memcmp(buf, "data", 4));
	if (accmode == O_RDONLY) {
		dh_check_eq(write(got, "x", 1), -1);
		dh_check_eq(errno, EBADF);
	} else {
		dh_check_eq(pwrite(got, "D", 1, 0), 1);
	}
	close(got);
	return 0;
}

/* Tokens 1 (memfd, read-only), 2 (tmpfs file, read-only), 3 (read-write). */
static void preserve_three(int sfd, int fds[3])
{
	int ro;

	fds[0] = memfd_create("ro", MFD_CLOEXEC);
	fds[1] = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	fds[2] = memfd_create("rw", MFD_CLOEXEC);
	if (fds[1] < 0)
		dh_skip("no O_TMPFILE in /dev/shm");
	dh_check(fds[0] >= 0 && fds[2] >= 0);
	for (int i = 0; i < 3; i++) {
		dh_check_eq(write(fds[i], "data", 4), 4);
		ro = i < 2 ? reopen_as(fds[i], O_RDONLY) : dup(fds[i]);
		dh_check(ro >= 0);
		dh_check_eq(luo_session_preserve_fd(sfd, ro, i + 1), 0);
		close(ro);
	}
}

static void retrieve_three(int sfd)
{
	check_retrieved(luo_session_retrieve_fd(sfd, 1), O_RDONLY);
	check_retrieved(luo_session_retrieve_fd(sfd, 2), O_RDONLY);
	check_retrieved(luo_session_retrieve_fd(sfd, 3), O_RDWR);
	dh_check_eq(luo_session_finish(sfd), 0);
}

int main(void)
{
	struct dh_daemon d;
	int dev, sfd, fds[3], i;
	uint64_t update;

	dh_check_eq(dh_start(&d, NULL), 0);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);

	sfd = luo_create_session(dev, "handed-over");
	dh_check(sfd >= 0);
	preserve_three(sfd, fds);
	dh_check_eq(luo_session_handover(sfd, 0), 0);
	close(sfd);
	sfd = luo_retrieve_session(dev, "handed-over");
	dh_check(sfd >= 0);
	retrieve_three(sfd);
	close(sfd);
	for (i = 0; i < 3; i++)
		close(fds[i]);

	sfd = luo_create_session(dev, "rebooted");
	dh_check(sfd >= 0);
	preserve_three(sfd, fds);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	dh_check_eq(luo_reboot(dev, -1, &update), 0);
	close(sfd);
	close(dev);
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	dh_check(dev >= 0);
	sfd = luo_retrieve_session(dev, "rebooted");
	dh_check(sfd >= 0);
	retrieve_three(sfd);
	close(sfd);
	close(dev);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
