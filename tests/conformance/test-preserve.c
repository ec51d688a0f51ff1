// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PRESERVE_FD with raw ioctls (SPEC.md 4.1): the order of its checks,
 * token EEXIST, EBADF, ENOENT for what no handler takes, EBUSY for double
 * preservation, and what a close of the session gives back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "kst.h"

static void test_order(void)
{
	int dev = kst_open_dev(), sfd = kst_create(dev, "order");
	int mfd = kst_memfd(128, 5, 0), null, ep;

	CHECK_OK(kst_preserve(sfd, mfd, 1));
	/* The token is checked first: EEXIST even for a bad fd. */
	CHECK_ERR(kst_preserve(sfd, -1, 1), EEXIST);
	CHECK_ERR(kst_preserve(sfd, 9999, 1), EEXIST);
	/* Then the fd. */
	CHECK_ERR(kst_preserve(sfd, -1, 2), EBADF);
	CHECK_ERR(kst_preserve(sfd, 9999, 2), EBADF);
	/*
	 * Then a handler: none for /dev/null, epoll, session fds or the
	 * device.  (Sockets, the kernel's other example, are refused too
	 * under luo-run's default, the kernel's handler set, and taken with
	 * luo's: test-handlers.c.)
	 */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK_OK(null);
	CHECK_ERR(kst_preserve(sfd, null, 2), ENOENT);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK_OK(ep);
	CHECK_ERR(kst_preserve(sfd, ep, 2), ENOENT);
	CHECK_ERR(kst_preserve(sfd, sfd, 2), ENOENT);
	CHECK_ERR(kst_preserve(sfd, dev, 2), ENOENT);
	/* Then double preservation. */
	CHECK_ERR(kst_preserve(sfd, mfd, 2), EBUSY);
	CHECK_OK(close(null));
	CHECK_OK(close(ep));
	CHECK_OK(close(mfd));
	CHECK_OK(close(sfd));
	CHECK_OK(close(dev));
}

static void test_double(void)
{
	char path[64];
	int dev = kst_open_dev(), s1 = kst_create(dev, "d1");
	int s2 = kst_create(dev, "d2"), mfd = kst_memfd(4096, 6, 10);
	int other, dupfd;

	CHECK_OK(kst_preserve(s1, mfd, 7));
	/* Same session, other token; other session, any token. */
	CHECK_ERR(kst_preserve(s1, mfd, 8), EBUSY);
	CHECK_ERR(kst_preserve(s2, mfd, 7), EBUSY);
	/* A dup is the same file; another open of the memfd, the same inode. */
	dupfd = dup(mfd);
	CHECK_ERR(kst_preserve(s2, dupfd, 1), EBUSY);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	other = open(path, O_RDWR | O_CLOEXEC);
	CHECK_OK(other);
	CHECK_ERR(kst_preserve(s2, other, 1), EBUSY);
	/* Closing the session that holds it gives it back. */
	CHECK_OK(close(s1));
	CHECK_OK(kst_preserve(s2, other, 1));
	CHECK_OK(close(other));
	CHECK_OK(close(dupfd));
	CHECK_OK(close(mfd));
	CHECK_OK(close(s2));
	CHECK_OK(close(dev));
}

static void test_tokens(void)
{
	int dev = kst_open_dev(), s1 = kst_create(dev, "t1");
	int s2 = kst_create(dev, "t2");
	int a = kst_memfd(1, 1, 0), b = kst_memfd(1, 2, 0), c = kst_memfd(1, 3, 0);

	/* Any u64 is a token, unique per session only. */
	CHECK_OK(kst_preserve(s1, a, 0));
	CHECK_OK(kst_preserve(s1, b, UINT64_MAX));
	CHECK_OK(kst_preserve(s2, c, 0));
	/* The caller may close its fds at once. */
	CHECK_OK(close(a));
	CHECK_OK(close(b));
	CHECK_OK(close(c));
	CHECK_OK(close(s1));
	CHECK_OK(close(s2));
	CHECK_OK(close(dev));
}

int main(void)
{
	KST_RUN(test_order);
	KST_RUN(test_double);
	KST_RUN(test_tokens);
	return KST_PASS;
}
