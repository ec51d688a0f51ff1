// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kabi-two-stage: a program written for the kernel's /dev/liveupdate ABI
 * as the kernel's selftests are (open, ioctl, memfd_create and
 * <linux/liveupdate.h>; no libluo), run under luo-run across a real kexec
 * (scenario kabi, README here).
 *
 *   kabi-two-stage 1   create session "kabi", preserve a memfd of 8 MiB
 *                      and 3 pages with a known pattern and a file offset,
 *                      print "ready" and keep every fd open until the
 *                      machine kexecs (the kernel's LUO keeps sessions
 *                      whose fds are open at reboot)
 *   kabi-two-stage 2   retrieve the session and the memfd, verify size,
 *                      bytes and that it can still be written, finish
 *
 * Exit 0 on success, 1 with a message otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/liveupdate.h>

#include "dataset.h"

#define SESSION	"kabi"
#define TOKEN	0x6b616269ull
#define SIZE	(8u * 1024 * 1024 + 3 * 4096)
#define SEED	0x4c554f2d4b414249ull

static char want[SIZE], got[SIZE];

#define FAIL(what) do { \
	fprintf(stderr, "kabi-two-stage: %s: %s\n", what, strerror(errno)); \
	exit(1); \
} while (0)

static void stage1(void)
{
	struct liveupdate_ioctl_create_session cs = { .size = sizeof(cs) };
	struct liveupdate_session_preserve_fd pf = { .size = sizeof(pf) };
	int dev, mfd;

	dev = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		FAIL("open /dev/liveupdate");
	strcpy((char *)cs.name, SESSION);
	if (ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs))
		FAIL("CREATE_SESSION");
	mfd = memfd_create("kabi", MFD_CLOEXEC);
	if (mfd < 0)
		FAIL("memfd_create");
	pattern_fill(SEED, 0, want, SIZE);
	if (write(mfd, want, SIZE) != SIZE)
		FAIL("write");
	pf.fd = mfd;
	pf.token = TOKEN;
	if (ioctl(cs.fd, LIVEUPDATE_SESSION_PRESERVE_FD, &pf))
		FAIL("PRESERVE_FD");
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static void stage2(void)
{
	struct liveupdate_ioctl_retrieve_session rs = { .size = sizeof(rs) };
	struct liveupdate_session_retrieve_fd rf = { .size = sizeof(rf) };
	struct liveupdate_session_finish fin = { .size = sizeof(fin) };
	int dev;
	off_t end;

	dev = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		FAIL("open /dev/liveupdate");
	strcpy((char *)rs.name, SESSION);
	if (ioctl(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &rs))
		FAIL("RETRIEVE_SESSION");
	rf.token = TOKEN;
	if (ioctl(rs.fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &rf))
		FAIL("RETRIEVE_FD");
	end = lseek(rf.fd, 0, SEEK_END);
	if (end != SIZE) {
		fprintf(stderr, "kabi-two-stage: size %lld, not %u\n",
			(long long)end, SIZE);
		exit(1);
	}
	pattern_fill(SEED, 0, want, SIZE);
	if (pread(rf.fd, got, SIZE, 0) != SIZE)
		FAIL("pread");
	if (memcmp(want, got, SIZE)) {
		fprintf(stderr, "kabi-two-stage: the memfd's bytes changed\n");
		exit(1);
	}
	if (pwrite(rf.fd, "x", 1, 0) != 1)
		FAIL("pwrite after retrieve");
	if (ioctl(rs.fd, LIVEUPDATE_SESSION_FINISH, &fin))
		FAIL("FINISH");
	close(rf.fd);
	close(rs.fd);
	close(dev);
	printf("kabi: %u bytes retrieved and verified, session finished\n",
	       SIZE);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "1"))
		stage1();
	else if (argc == 2 && !strcmp(argv[1], "2"))
		stage2();
	else {
		fprintf(stderr, "usage: kabi-two-stage 1|2\n");
		return 2;
	}
	return 0;
}
