// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * eventfd-v1's callbacks called directly: the counter, EFD_SEMAPHORE and
 * O_NONBLOCK survive, the retrieved fd is the same description, and a
 * retrieve on another file or with bad data fails with the exact errno.
 */
#include <stdint.h>
#include <sys/eventfd.h>

#include "../common/check.h"
#include "sim.h"

static struct luo_file_handler *H(void)
{
	return luo_eventfd_handler();
}

static int test_takes_eventfds_only(void)
{
	int e = eventfd(0, EFD_CLOEXEC), p[2];

	CHECK(e >= 0 && pipe2(p, O_CLOEXEC) == 0);
	CHECK(sim_takes(H(), e));
	CHECK(!sim_takes(H(), p[0]));
	CHECK(builtin_taker(e) == H());
	CHECK(builtin_taker(p[0]) == luo_pipe_handler());
	close(e);
	close(p[0]);
	close(p[1]);
	return TEST_PASS;
}

static int test_counter_survives(void)
{
	uint64_t v = 5;
	struct sim s;
	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	CHECK(e >= 0);
	CHECK_EQ(write(e, &v, sizeof(v)), sizeof(v));
	CHECK_EQ(sim_preserve(&s, H(), e), 0);
	/* The owner still writes after PRESERVE_FD: it is the same eventfd. */
	v = 2;
	CHECK_EQ(write(e, &v, sizeof(v)), sizeof(v));
	close(e);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK_EQ(same_ofd(s.in.retrieved_fd, s.in.fd), 0);
	CHECK(fcntl(s.in.retrieved_fd, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(s.in.retrieved_fd, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(read(s.in.retrieved_fd, &v, sizeof(v)), sizeof(v));
	CHECK_EQ(v, 7);
	CHECK_EQ(read(s.in.retrieved_fd, &v, sizeof(v)), -1);
	CHECK_EQ(errno, EAGAIN);
	sim_finish(&s);
	return TEST_PASS;
}

static int test_semaphore_survives(void)
{
	uint64_t v;
	struct sim s;
	int e = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);

	CHECK(e >= 0);
	CHECK_EQ(sim_cycle(&s, H(), e), 0);
	close(e);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(read(s.in.retrieved_fd, &v, sizeof(v)), sizeof(v));
		CHECK_EQ(v, 1);
	}
	CHECK_EQ(read(s.in.retrieved_fd, &v, sizeof(v)), -1);
	CHECK_EQ(errno, EAGAIN);
	sim_finish(&s);
	return TEST_PASS;
}

/* O_NONBLOCK set between preserve and freeze is what freeze records. */
static int test_flags_recorded_at_freeze(void)
{
	struct sim s;
	int e = eventfd(0, EFD_CLOEXEC);

	CHECK(e >= 0);
	CHECK_EQ(sim_preserve(&s, H(), e), 0);
	CHECK_EQ(fcntl(e, F_SETFL, O_NONBLOCK), 0);
	close(e);
	CHECK_EQ(sim_reboot(&s), 0);
	CHECK_EQ(sim_retrieve(&s), 0);
	CHECK(fcntl(s.in.retrieved_fd, F_GETFL) & O_NONBLOCK);
	sim_finish(&s);
	return TEST_PASS;
}

static int test_retrieve_checks_the_file(void)
{
	struct sim s;
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);
	int c = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE), p[2];

	CHECK(a >= 0 && b >= 0 && c >= 0 && pipe2(p, O_CLOEXEC) == 0);
	CHECK_EQ(sim_preserve(&s, H(), a), 0);
	CHECK_EQ(sim_reboot(&s), 0);
	/* Another eventfd (another eventfd-id), one of other flags, a pipe. */
	int others[] = { b, c, p[0] };

	for (size_t i = 0; i < 3; i++) {
		int keep = s.in.fd;

		s.in.fd = others[i];
		CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
		CHECK_EQ(s.in.retrieved_fd, -1);
		s.in.fd = keep;
	}
	s.in.data_len--;
	CHECK_EQ(H()->ops->retrieve(&s.in), -EINVAL);
	s.in.data_len++;
	s.in.data[16] |= 0x80;	/* an unknown flag */
	CHECK_EQ(H()->ops->retrieve(&s.in), -EOPNOTSUPP);
	s.in.data[16] &= 0x7f;
	CHECK_EQ(sim_retrieve(&s), 0);
	sim_finish(&s);
	close(a);
	close(b);
	close(c);
	close(p[0]);
	close(p[1]);
	return TEST_PASS;
}

static int test_unpreserve_leaves_the_eventfd(void)
{
	uint64_t v = 9;
	struct sim s;
	int e = eventfd(0, EFD_CLOEXEC);

	CHECK(e >= 0);
	CHECK_EQ(sim_preserve(&s, H(), e), 0);
	sim_unpreserve(&s);
	CHECK_EQ(write(e, &v, sizeof(v)), sizeof(v));
	CHECK_EQ(read(e, &v, sizeof(v)), sizeof(v));
	CHECK_EQ(v, 9);
	close(e);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_takes_eventfds_only),
		TEST_CASE(test_counter_survives),
		TEST_CASE(test_semaphore_survives),
		TEST_CASE(test_flags_recorded_at_freeze),
		TEST_CASE(test_retrieve_checks_the_file),
		TEST_CASE(test_unpreserve_leaves_the_eventfd),
	};

	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
