// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Regular files through the daemon and a reboot: an unlinked file at a
 * position with O_APPEND comes back as a new description at that position
 * with that flag; two opens of one file are two files, one open preserved
 * twice is EBUSY; a directory and /dev/null are refused with ENOENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static void stage1(int sfd, const char *path)
{
	int a = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600), b, x;

	dh_check(a >= 0);
	dh_check_eq(write(a, "0123456789", 10), 10);
	dh_check_eq(fcntl(a, F_SETFL, O_APPEND), 0);
	dh_check_eq(lseek(a, 4, SEEK_SET), 4);
	b = open(path, O_RDONLY | O_CLOEXEC);
	dh_check(b >= 0);
	dh_check_eq(luo_session_preserve_fd(sfd, a, 1), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, b, 2), 0);
	dh_check_eq(luo_session_preserve_fd(sfd, a, 3), -EBUSY);
	x = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dh_check_eq(luo_session_preserve_fd(sfd, x, 4), -ENOENT);
	close(x);
	x = open("/dev/null", O_RDWR | O_CLOEXEC);
	dh_check_eq(luo_session_preserve_fd(sfd, x, 5), -ENOENT);
	close(x);
	close(a);
	close(b);
	dh_check_eq(unlink(path), 0);
}

static void stage2(int sfd)
{
	int a = luo_session_retrieve_fd(sfd, 1), b = luo_session_retrieve_fd(sfd, 2);
	char got[4];

	dh_check(a >= 0 && b >= 0);
	dh_check_eq(fcntl(a, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	dh_check_eq(fcntl(b, F_GETFL) & O_ACCMODE, O_RDONLY);
	dh_check_eq(lseek(a, 0, SEEK_CUR), 4);
	dh_check_eq(lseek(b, 0, SEEK_CUR), 0);
	dh_check_eq(read(a, got, 2), 2);
	dh_check(!memcmp(got, "45", 2));
	dh_check_eq(write(a, "ab", 2), 2);
	dh_check_eq(pread(b, got, 2, 10), 2);
	dh_check(!memcmp(got, "ab", 2));
	close(a);
	close(b);
}

int main(void)
{
	char path[PATH_MAX];
	struct dh_daemon d;
	uint64_t update = 0;
	int dev, sfd, fds_before;

	if (dh_start(&d, NULL))
		dh_skip("cannot start liveupdated");
	fds_before = e2e_daemon_fds(&d);
	snprintf(path, sizeof(path), "luo-e2e-file-%d", (int)getpid());
	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	sfd = luo_create_session(dev, "files");
	dh_check(dev >= 0 && sfd >= 0);
	stage1(sfd, path);
	luo_close(dev);
	dh_check_eq(e2e_reboot(d.socket, &update), 0);
	luo_close(sfd);

	dev = luo_open_at(d.socket, LUO_OPEN_DEVICE);
	sfd = luo_retrieve_session(dev, "files");
	dh_check(dev >= 0 && sfd >= 0);
	stage2(sfd);
	dh_check_eq(luo_session_finish(sfd), 0);
	luo_close(sfd);
	luo_close(dev);
	dh_check_eq(e2e_daemon_fds(&d), fds_before);
	dh_check_eq(dh_stop(&d), 0);
	dh_cleanup(&d);
	return DH_PASS;
}
