// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A two-stage program written for the kernel's /dev/liveupdate and nothing
 * else (open, ioctl, memfd_create, the uapi header; no libluo), run under
 * luo-run across a simulated kexec by test-pool-luo-run.
 *
 * "kabi-stage 1": creates session "kabi", preserves a sealed memfd of
 * 1 MiB (token 7, position 100), prints "ready" and holds the session
 * until its standard input closes (as an agent holds it until the kexec).
 * "kabi-stage 2": retrieves the session and the memfd, checks every byte,
 * the position and the seals, and finishes.  Exit status 0 if all is well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/liveupdate.h>

#define BYTES	(1u << 20)
#define SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static unsigned char buf[BYTES];

static void fill(void)
{
	for (unsigned int i = 0; i < BYTES; i++)
		buf[i] = (unsigned char)(i * 7 + i / 4096);
}

static int fail(const char *what)
{
	fprintf(stderr, "kabi-stage: %s: %s\n", what, strerror(errno));
	return 1;
}

static int stage1(int dev)
{
	struct liveupdate_ioctl_create_session cs = {
		.size = sizeof(cs), .name = "kabi",
	};
	struct liveupdate_session_preserve_fd pf = {
		.size = sizeof(pf), .token = 7,
	};
	char c;
	int m;

	if (ioctl(dev, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs) < 0)
		return fail("CREATE_SESSION");
	m = memfd_create("kabi", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0 || write(m, buf, BYTES) != BYTES ||
	    lseek(m, 100, SEEK_SET) != 100 ||
	    fcntl(m, F_ADD_SEALS, SEALS) < 0)
		return fail("memfd");
	pf.fd = m;
	if (ioctl(cs.fd, LIVEUPDATE_SESSION_PRESERVE_FD, &pf) < 0)
		return fail("PRESERVE_FD");
	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static int stage2(int dev)
{
	static unsigned char got[BYTES];
	struct liveupdate_ioctl_retrieve_session rs = {
		.size = sizeof(rs), .name = "kabi",
	};
	struct liveupdate_session_retrieve_fd rf = {
		.size = sizeof(rf), .token = 7,
	};
	struct liveupdate_session_finish fin = { .size = sizeof(fin) };

	if (ioctl(dev, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &rs) < 0)
		return fail("RETRIEVE_SESSION");
	if (ioctl(rs.fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &rf) < 0)
		return fail("RETRIEVE_FD");
	if (pread(rf.fd, got, BYTES, 0) != BYTES || memcmp(got, buf, BYTES))
		return fail("the memfd's bytes");
	if (lseek(rf.fd, 0, SEEK_CUR) != 100)
		return fail("the memfd's position");
	if ((fcntl(rf.fd, F_GET_SEALS) & SEALS) != SEALS)
		return fail("the memfd's seals");
	if (ioctl(rs.fd, LIVEUPDATE_SESSION_FINISH, &fin) < 0)
		return fail("FINISH");
	printf("verified\n");
	return 0;
}

int main(int argc, char **argv)
{
	int dev;

	if (argc != 2 || (strcmp(argv[1], "1") && strcmp(argv[1], "2"))) {
		fprintf(stderr, "usage: kabi-stage 1|2\n");
		return 2;
	}
	fill();
	dev = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return fail("/dev/liveupdate");
	return argv[1][0] == '1' ? stage1(dev) : stage2(dev);
}
