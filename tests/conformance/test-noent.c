// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * No daemon is running (luo-run without --private and LUO_SOCKET naming
 * nothing): as on a kernel without LUO, there is no /dev/liveupdate.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kst.h"

static void test_no_device(void)
{
	struct stat st;

	CHECK_ERR(open(KST_DEV, O_RDWR), ENOENT);
	CHECK_ERR(open(KST_DEV, O_RDONLY | O_CLOEXEC), ENOENT);
	CHECK_ERR(openat(AT_FDCWD, KST_DEV, O_RDWR), ENOENT);
	CHECK_ERR(open(KST_DEV, O_RDWR | O_CREAT | O_EXCL, 0600), ENOENT);
	CHECK_ERR(stat(KST_DEV, &st), ENOENT);
	CHECK_ERR(lstat(KST_DEV, &st), ENOENT);
	CHECK_ERR(access(KST_DEV, F_OK), ENOENT);
	CHECK_ERR(faccessat(AT_FDCWD, KST_DEV, R_OK, 0), ENOENT);
}

int main(void)
{
	KST_RUN(test_no_device);
	return KST_PASS;
}
