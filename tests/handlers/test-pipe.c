// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pipe-v1's callbacks called directly: unread bytes of pipes and FIFOs
 * stay, each end stays that end, the retrieved fd is the same description,
 * and a retrieve on another file or with bad data fails exactly.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../common/check.h"
#include "sim.h"

static struct luo_file_handler *H(void)
{
	return luo_pipe_handler();
}

static int test_takes_pipes_and_fifos(void)
{
	char dir[] = "/tmp/luo-pipe-XXXXXX", path[PATH_MAX];
	int p[2], f;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	f = open(path, O_RDWR | O_CLOEXEC);
	CHECK(f >= 0 && pipe2(p, O_CLOEXEC) == 0);
	CHECK(sim_takes(H(), p[0]) && sim_takes(H(), p[1]) && sim_takes(H(), f));
	CHECK(builtin_taker(p[1]) == H() && builtin_taker(f) == H());
	close(f);
	close(p[0]);
	close(p[1]);
	f = open(path, O_PATH | O_CLOEXEC);
	CHECK(f >= 0);
	CHECK(!sim_takes(H(), f));
	close(f);
	unlink(path);
	rmdir(dir);
	return TEST_PASS;
}

/* Both ends of one pipe, 64 KiB of unread bytes: all there after. */
static int test_unread_bytes_stay(void)
{
	static char buf[65536], got[65536];
	struct sim r, w;
	int p[2];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 13 + 1);
	CHECK_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_EQ(write(p[1], buf, sizeof(buf)), sizeof(buf));
	CHECK_EQ(sim_preserve(&r, H(), p[0]), 0);
	CHECK_EQ(sim_preserve(&w, H(), p[1]), 0);
	close(p[0]);
	close(p[1]);
	CHECK_EQ(sim_reboot(&r), 0);
	CHECK_EQ(sim_reboot(&w), 0);
	CHECK_EQ(sim_retrieve(&r), 0);
	CHECK_EQ(sim_retrieve(&w), 0);
	CHECK_EQ(same_ofd(r.in.retrieved_fd, r.in.fd), 0);
	CHECK(fcntl(r.in.retrieved_fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(fcntl(r.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fcntl(w.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	CHECK_EQ(read(r.in.retrieved_fd, got, sizeof(got)), sizeof(got));
	CHECK(!memcmp(buf, got, sizeof(got)));
	CHECK_EQ(write(w.in.retrieved_fd, "x", 1), 1);
	CHECK_EQ(read(r.in.retrieved_fd, got, 2), 1);
	CHECK_EQ(got[0], 'x');
	sim_finish(&w);
	/* The last writer is gone: the reader sees end of file. */
	CHECK_EQ(read(r.in.retrieved_fd, got, 1), 0);
	sim_finish(&r);
	return TEST_PASS;
}

static int test_fifo_bytes_and_inode(void)
{
	char dir[] = "/tmp/luo-pipe-XXXXXX", path[PATH_MAX], got[8];
	struct stat st;
	struct sim s;
	uint64_t ino;
	int f;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(stat(path, &st), 0);
	f = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(f >= 0);
	CHECK_EQ(write(f, "fifo", 4), 4);
	CHECK_EQ(sim_preserve(&s, H(), f), 0);
	close(f);
	memcpy(&ino, s.out.data + 8, sizeof(ino));
	CHECK_EQ(ino, st.st_ino);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(fcntl(s.in.retrieved_fd, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK_EQ(read(s.in.retrieved_fd, got, sizeof(got)), 4);
	CHECK(!memcmp(got, "fifo", 4));
	sim_finish(&s);
	unlink(path);
	rmdir(dir);
	return TEST_PASS;
}

static int test_retrieve_checks_the_file(void)
{
	struct sim s;
	int p[2], q[2];

	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(q, O_CLOEXEC), 0);
	CHECK_EQ(sim_preserve(&s, H(), p[0]), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	int others[] = { p[1], q[0] };	/* the other end; another pipe */

	for (size_t i = 0; i < 2; i++) {
		int keep = s.in.fd;

		s.in.fd = others[i];
		CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
		CHECK_EQ(s.in.retrieved_fd, -1);
		s.in.fd = keep;
	}
	s.in.data_len = 3;
	CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
	s.in.data_len = 24;
	s.in.data[20] |= 0x80;
	CHECK_EQ(H()->ops->retrieve(&s.in), -EOPNOTSUPP);
	s.in.data[20] &= 0x7f;
	CHECK_EQ(sim_retrieve(&s), 0);
	sim_finish(&s);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_takes_pipes_and_fifos),
		TEST_CASE(test_unread_bytes_stay),
		TEST_CASE(test_fifo_bytes_and_inode),
		TEST_CASE(test_retrieve_checks_the_file),
	};

	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
