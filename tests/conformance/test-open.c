// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Opening /dev/liveupdate (SPEC.md 2.3, 2.4): one open at a time (EBUSY),
 * reopen after close, every flag the kernel accepts, O_CLOEXEC honoured,
 * the node's stat and access, and the device's close leaving sessions be.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kst.h"

static void test_exclusive(void)
{
	int dev = kst_open_dev();

	CHECK_ERR(open(KST_DEV, O_RDWR), EBUSY);
	CHECK_ERR(open(KST_DEV, O_RDONLY | O_CLOEXEC), EBUSY);
	CHECK_ERR(openat(AT_FDCWD, KST_DEV, O_RDWR), EBUSY);
	CHECK_OK(close(dev));
	/* The flag is cleared on release: the device opens again. */
	dev = kst_open_dev();
	CHECK_OK(close(dev));
}

static void test_flags(void)
{
	static const int flags[] = {
		O_RDWR, O_RDONLY, O_WRONLY, O_RDWR | O_CLOEXEC,
		O_RDWR | O_NONBLOCK, O_RDWR | O_NOCTTY, O_RDWR | O_SYNC,
		O_RDONLY | O_CLOEXEC | O_NONBLOCK, O_RDWR | O_CREAT,
		O_RDWR | O_TRUNC, O_RDWR | O_APPEND, O_RDWR | O_NOFOLLOW,
	};
	size_t i;

	for (i = 0; i < KST_ARRAY_SIZE(flags); i++) {
		int fd = open(KST_DEV, flags[i], 0600);

		CHECK_OK(fd);
		CHECK_EQ(kst_cloexec(fd), !!(flags[i] & O_CLOEXEC));
		CHECK_EQ(!!(fcntl(fd, F_GETFL) & O_NONBLOCK),
			 !!(flags[i] & O_NONBLOCK));
		/* It is the device whatever the flags: a session command
		 * on it is outside its table. */
		CHECK_ERR(kst_finish(fd), EINVAL);
		CHECK_OK(close(fd));
	}
	CHECK_ERR(open(KST_DEV, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	CHECK_ERR(open(KST_DEV, O_RDONLY | O_DIRECTORY), ENOTDIR);
}

static void test_paths(void)
{
	static const char *const paths[] = {
		"/dev/liveupdate", "//dev/liveupdate", "/dev/./liveupdate",
		"/dev/../dev/liveupdate",
	};
	size_t i;
	int dir, fd;

	for (i = 0; i < KST_ARRAY_SIZE(paths); i++) {
		fd = open(paths[i], O_RDWR | O_CLOEXEC);
		CHECK_OK(fd);
		CHECK_OK(close(fd));
	}
	dir = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_OK(dir);
	fd = openat(dir, "liveupdate", O_RDWR | O_CLOEXEC);
	CHECK_OK(fd);
	CHECK_OK(close(fd));
	CHECK_OK(close(dir));
	/* Not the device: untouched. */
	CHECK_ERR(open("/dev/liveupdate-not", O_RDWR), ENOENT);
}

static void test_stat(void)
{
	struct stat st;
	struct statx sx;

	CHECK_OK(stat(KST_DEV, &st));
	CHECK(S_ISCHR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(major(st.st_rdev), 10);
	CHECK_OK(lstat(KST_DEV, &st));
	CHECK(S_ISCHR(st.st_mode));
	CHECK_OK(fstatat(AT_FDCWD, KST_DEV, &st, 0));
	CHECK(S_ISCHR(st.st_mode));
	CHECK_OK(statx(AT_FDCWD, KST_DEV, 0, STATX_BASIC_STATS, &sx));
	CHECK(S_ISCHR(sx.stx_mode));
	CHECK_EQ(sx.stx_rdev_major, 10);
	CHECK_OK(access(KST_DEV, F_OK));
	if (geteuid() == 0) {
		CHECK_OK(access(KST_DEV, R_OK | W_OK));
		CHECK_OK(faccessat(AT_FDCWD, KST_DEV, R_OK | W_OK, 0));
		CHECK_ERR(access(KST_DEV, X_OK), EACCES);
	}
}

/* Closing the device has no effect on sessions (SPEC.md 2.3). */
static void test_close_keeps_sessions(void)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	int dev = kst_open_dev(), sfd;

	sfd = kst_create(dev, "kept");
	CHECK_OK(sfd);
	CHECK(kst_cloexec(sfd));
	CHECK_OK(close(dev));
	CHECK_OK(kst_get_name(sfd, name));
	CHECK(!strcmp(name, "kept"));
	/* A session fd is no file any handler takes. */
	CHECK_ERR(kst_preserve(sfd, sfd, 1), ENOENT);
	dev = kst_open_dev();
	CHECK_ERR(kst_create(dev, "kept"), EEXIST);
	CHECK_OK(close(sfd));
	sfd = kst_create(dev, "kept");
	CHECK_OK(sfd);
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

int main(void)
{
	KST_RUN(test_exclusive);
	KST_RUN(test_flags);
	KST_RUN(test_paths);
	KST_RUN(test_stat);
	KST_RUN(test_close_keeps_sessions);
	return KST_PASS;
}
