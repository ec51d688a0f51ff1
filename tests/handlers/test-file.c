// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * file-v1's callbacks called directly: a new open file description of the
 * same inode, at the position and with the flags recorded at freeze; files
 * of pseudo filesystems, directories and devices are not taken.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../common/check.h"
#include "sim.h"

static struct luo_file_handler *H(void)
{
	return luo_file_handler();
}

/* A file in the build directory (not tmpfs, where memfd takes unlinked). */
static int make_file(char *path, size_t len)
{
	int fd;

	snprintf(path, len, "luo-file-test-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && write(fd, "0123456789", 10) != 10) {
		close(fd);
		return -1;
	}
	return fd;
}

static int test_takes_regular_files_only(void)
{
	const char *nots[] = { "/proc/self/status", "/dev/null", "/" };
	char path[PATH_MAX];
	int fd = make_file(path, sizeof(path));

	CHECK(fd >= 0);
	CHECK(sim_takes(H(), fd));
	CHECK(builtin_taker(fd) == H());
	for (size_t i = 0; i < 3; i++) {
		int n = open(nots[i], O_RDONLY | O_CLOEXEC);

		CHECK(n >= 0);
		CHECK(!sim_takes(H(), n));
		CHECK(builtin_taker(n) == NULL);
		close(n);
	}
	close(fd);
	fd = open(path, O_PATH | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(!sim_takes(H(), fd));
	close(fd);
	unlink(path);
	return TEST_PASS;
}

/* memfd-v2 is asked first and takes an unlinked tmpfs file. */
static int test_memfd_first(void)
{
	int fd = memfd_create("x", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(builtin_taker(fd) == luo_memfd_handler());
	close(fd);
	return TEST_PASS;
}

static int test_position_and_flags(void)
{
	char path[PATH_MAX], got[4];
	struct sim s;
	int fd = make_file(path, sizeof(path));

	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);
	CHECK_EQ(lseek(fd, 3, SEEK_SET), 3);
	CHECK_EQ(sim_preserve(&s, H(), fd), 0);
	CHECK_EQ(lseek(fd, 5, SEEK_SET), 5);	/* before the reboot: counts */
	close(fd);
	/* Unlinked: the inode lives on in the preserved fd. */
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	fd = s.in.retrieved_fd;
	CHECK(same_ofd(fd, s.in.fd) != 0);	/* a new description */
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
	CHECK_EQ(read(fd, got, 2), 2);
	CHECK(!memcmp(got, "56", 2));
	CHECK_EQ(write(fd, "ab", 2), 2);	/* O_APPEND: at the end */
	CHECK_EQ(pread(fd, got, 2, 10), 2);
	CHECK(!memcmp(got, "ab", 2));
	sim_finish(&s);
	return TEST_PASS;
}

static int test_read_only_stays_read_only(void)
{
	char path[PATH_MAX];
	struct sim s;
	int fd = make_file(path, sizeof(path)), ro;

	CHECK(fd >= 0);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0);
	CHECK_EQ(sim_cycle(&s, H(), ro), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(write(s.in.retrieved_fd, "x", 1), -1);
	CHECK_EQ(errno, EBADF);
	sim_finish(&s);
	close(ro);
	close(fd);
	unlink(path);
	return TEST_PASS;
}

static int test_retrieve_checks_the_file(void)
{
	char path[PATH_MAX];
	struct sim s;
	int fd = make_file(path, sizeof(path)), p[2];

	CHECK(fd >= 0 && pipe2(p, O_CLOEXEC) == 0);
	CHECK_EQ(sim_preserve(&s, H(), fd), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	int keep = s.in.fd;

	s.in.fd = p[0];
	CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
	CHECK_EQ(s.in.retrieved_fd, -1);
	s.in.fd = keep;
	s.in.data_len = 15;
	CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
	s.in.data_len = 16;
	s.in.data[12] = 1;	/* reserved */
	CHECK_EQ(H()->ops->retrieve(&s.in), -EOPNOTSUPP);
	s.in.data[12] = 0;
	s.in.data[7] = 0x80;	/* a position past INT64_MAX */
	CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
	s.in.data[7] = 0;
	CHECK_EQ(sim_retrieve(&s), 0);
	sim_finish(&s);
	close(fd);
	close(p[0]);
	close(p[1]);
	unlink(path);
	return TEST_PASS;
}

/* A file the daemon may not reopen fails at preserve, not after reboot. */
static int test_unreopenable_fails_at_preserve(void)
{
	char path[PATH_MAX];
	struct sim s;
	int fd;

	if (geteuid() == 0)
		SKIP("root reopens any file");
	fd = make_file(path, sizeof(path));
	CHECK(fd >= 0);
	CHECK_EQ(fchmod(fd, 0), 0);
	CHECK_EQ(sim_preserve(&s, H(), fd), -EACCES);
	close(fd);
	unlink(path);
	return TEST_PASS;
}

/* What the lease test's host was asked. */
static int waits;

static int count_wait(void *ctx, int fd, int flags)
{
	waits++;
	return 0;
}

/*
 * Issue 8 item 9: a lease on the file made preserve's check and retrieve
 * wait in open(2) until it was broken (45 s).  Preserve does not wait;
 * retrieve leaves the wait to the host and answers -EWOULDBLOCK, then
 * succeeds once the lease is gone.  alarm() ends the test if anything
 * waits.
 */
static int test_lease_never_waits(void)
{
	const struct luo_handler_host host = { .open_wait = count_wait };
	char path[PATH_MAX];
	struct sim s;
	int fd = make_file(path, sizeof(path));

	CHECK(fd >= 0);
	if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0) {
		close(fd);
		unlink(path);
		SKIP("no write lease on this filesystem");
	}
	signal(SIGIO, SIG_IGN);
	alarm(10);
	luo_handlers_set_host(&host);
	waits = 0;
	CHECK_EQ(sim_preserve(&s, H(), fd), 0);
	CHECK_EQ(waits, 0);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), -EWOULDBLOCK);
	CHECK_EQ(s.in.retrieved_fd, -1);
	CHECK_EQ(waits, 1);
	CHECK_EQ(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDWR);
	luo_handlers_set_host(NULL);
	alarm(0);
	sim_finish(&s);
	close(fd);
	unlink(path);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_takes_regular_files_only),
		TEST_CASE(test_memfd_first),
		TEST_CASE(test_position_and_flags),
		TEST_CASE(test_read_only_stays_read_only),
		TEST_CASE(test_retrieve_checks_the_file),
		TEST_CASE(test_unreopenable_fails_at_preserve),
		TEST_CASE(test_lease_never_waits),
	};

	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
