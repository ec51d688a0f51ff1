// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PRESERVE_FD and the last close of an outgoing session (SPEC.md 4.1, 3.4,
 * 11): tokens, limits, EBADF, ENOENT, EBUSY in every form, handler errors
 * undone, the order of the checks, LIFO unpreserve.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handlers.h"
#include "tc.h"

static struct tc_handler th;

static struct luo_core *core_with(uint32_t max_files, unsigned int take,
				  bool get_id)
{
	struct luo_core *core = tc_core(0, max_files);

	tc_handler_init(&th, "fake", take, get_id);
	if (core && luo_register_file_handler(core, &th.h)) {
		luo_core_free(core);
		return NULL;
	}
	return core;
}

static uint64_t files_of(struct luo_core *core)
{
	uint64_t n;

	luo_core_counts(core, NULL, NULL, &n);
	return n;
}

static int test_preserve_basic(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	int m = tc_memfd("m"), p = tc_pipe(NULL), e = tc_eventfd();
	int fds = test_count_fds();
	struct luo_session *s;

	CHECK(core && m >= 0 && p >= 0 && e >= 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, m, 0), 0);
	CHECK_ERR(tc_preserve(core, s, p, UINT64_MAX), 0);
	CHECK_ERR(tc_preserve(core, s, e, 0x8000000000000000ull), 0);
	CHECK_EQ(th.calls[TC_PRESERVE], 3);
	CHECK_EQ(files_of(core), 3);
	/* The core holds its own duplicates: the caller may close its fds. */
	CHECK_EQ(test_count_fds(), fds + 3);
	close(m);
	close(p);
	close(e);
	luo_core_free(core);
	CHECK_EQ(th.calls[TC_UNPRESERVE], 3);
	return TEST_PASS;
}

static int test_token_per_session(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	int a = tc_pipe(NULL), b = tc_pipe(NULL), c = tc_pipe(NULL);
	struct luo_session *s1, *s2;

	CHECK(core && a >= 0 && b >= 0 && c >= 0);
	CHECK_ERR(tc_create(core, "s1", &s1), 0);
	CHECK_ERR(tc_create(core, "s2", &s2), 0);
	CHECK_ERR(tc_preserve(core, s1, a, 7), 0);
	CHECK_ERR(tc_preserve(core, s1, b, 7), -EEXIST);
	CHECK_ERR(tc_preserve(core, s1, a, 7), -EEXIST);
	CHECK_ERR(tc_preserve(core, s2, b, 7), 0);
	CHECK_ERR(tc_preserve(core, s1, c, 0), 0);
	CHECK_ERR(tc_preserve(core, s2, c, 0), -EBUSY);
	CHECK_EQ(th.calls[TC_PRESERVE], 3);
	CHECK_EQ(files_of(core), 3);
	luo_core_free(core);
	close(a);
	close(b);
	close(c);
	return TEST_PASS;
}

static int test_enospc_max_files(void)
{
	struct luo_core *core = core_with(2, TC_TAKE_ALL, false);
	int f[4];
	struct luo_session *s, *t;

	CHECK(core);
	for (int i = 0; i < 4; i++)
		CHECK((f[i] = tc_eventfd()) >= 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_create(core, "t", &t), 0);
	CHECK_ERR(tc_preserve(core, s, f[0], 1), 0);
	CHECK_ERR(tc_preserve(core, s, f[1], 2), 0);
	CHECK_ERR(tc_preserve(core, s, f[2], 3), -ENOSPC);
	/* The limit is per session. */
	CHECK_ERR(tc_preserve(core, t, f[2], 3), 0);
	CHECK_ERR(tc_preserve(core, t, f[3], 4), 0);
	CHECK_ERR(tc_preserve(core, t, f[3], 5), -ENOSPC);
	CHECK_EQ(th.calls[TC_PRESERVE], 4);
	luo_core_free(core);
	for (int i = 0; i < 4; i++)
		close(f[i]);
	return TEST_PASS;
}

static int test_ten_thousand_files(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	int fds = test_count_fds();
	struct luo_session *s;

	CHECK(core);
	CHECK_ERR(tc_create(core, "many", &s), 0);
	/*
	 * Pipes: one inode each.  (eventfds share one anonymous inode, and the
	 * core's open-file-description identity compares every file of an
	 * inode with kcmp, which is quadratic for them.)
	 */
	for (int i = 0; i < 10000; i++) {
		int fd = tc_pipe(NULL);

		CHECK(fd >= 0);
		CHECK_ERR(tc_preserve(core, s, fd, (uint64_t)i * 3), 0);
		close(fd);
	}
	CHECK_EQ(files_of(core), 10000);
	CHECK_EQ(test_count_fds(), fds + 10000);
	CHECK_ERR(tc_preserve(core, s, 0, 4711 * 3), -EEXIST);
	luo_core_session_release(core, s);
	CHECK_EQ(th.calls[TC_UNPRESERVE], 10000);
	CHECK_EQ(files_of(core), 0);
	CHECK_EQ(test_count_fds(), fds);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_ebadf(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	int opath = open("/etc/passwd", O_PATH | O_CLOEXEC);
	int closed = tc_pipe(NULL);
	int m = tc_memfd("m"), mpath;
	char path[64];
	struct luo_session *s;

	CHECK(core && opath >= 0 && closed >= 0 && m >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	mpath = open(path, O_PATH | O_CLOEXEC);
	CHECK(mpath >= 0);
	close(closed);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, -1, 1), -EBADF);
	CHECK_ERR(tc_preserve(core, s, opath, 1), -EBADF);
	CHECK_ERR(tc_preserve(core, s, mpath, 1), -EBADF);
	CHECK_ERR(tc_preserve(core, s, closed, 1), -EBADF);
	CHECK_EQ(th.calls[TC_CAN_PRESERVE], 0);
	CHECK_EQ(files_of(core), 0);
	CHECK_ERR(tc_preserve(core, s, m, 1), 0);
	luo_core_free(core);
	close(opath);
	close(mpath);
	close(m);
	return TEST_PASS;
}

static int test_enoent_no_handler(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_FIFO | TC_TAKE_ANON, false);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), sv[2];
	int m = tc_memfd("m");
	struct luo_session *s;

	CHECK(core && null >= 0 && m >= 0);
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, null, 1), -ENOENT);
	CHECK_ERR(tc_preserve(core, s, sv[0], 1), -ENOENT);
	CHECK_ERR(tc_preserve(core, s, m, 1), -ENOENT);
	CHECK_EQ(th.calls[TC_PRESERVE], 0);
	CHECK_EQ(files_of(core), 0);
	luo_core_free(core);
	/* A core without handlers takes nothing. */
	core = tc_core(0, 0);
	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, m, 1), -ENOENT);
	luo_core_free(core);
	close(null);
	close(sv[0]);
	close(sv[1]);
	close(m);
	return TEST_PASS;
}

/* Handlers are asked in registration order; the first that takes it wins. */
static int test_handler_order(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_FIFO, false);
	struct tc_handler second;
	int p = tc_pipe(NULL), e = tc_eventfd();
	struct luo_session *s;

	CHECK(core && p >= 0 && e >= 0);
	tc_handler_init(&second, "second", TC_TAKE_ALL, false);
	CHECK_ERR(luo_register_file_handler(core, &second.h), 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, p, 1), 0);
	CHECK_ERR(tc_preserve(core, s, e, 2), 0);
	CHECK_EQ(th.calls[TC_PRESERVE], 1);
	CHECK_EQ(second.calls[TC_PRESERVE], 1);
	CHECK_EQ(th.calls[TC_CAN_PRESERVE], 2);
	CHECK_EQ(second.calls[TC_CAN_PRESERVE], 1);
	luo_core_free(core);
	close(p);
	close(e);
	return TEST_PASS;
}

static int test_ebusy_same_file(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	int p = tc_pipe(NULL), d;
	struct luo_session *s1, *s2;

	CHECK(core && p >= 0);
	d = dup(p);
	CHECK(d >= 0);
	CHECK_ERR(tc_create(core, "s1", &s1), 0);
	CHECK_ERR(tc_create(core, "s2", &s2), 0);
	CHECK_ERR(tc_preserve(core, s1, p, 1), 0);
	/* Same session, another token. */
	CHECK_ERR(tc_preserve(core, s1, p, 2), -EBUSY);
	/* Another session. */
	CHECK_ERR(tc_preserve(core, s2, p, 1), -EBUSY);
	/* A dup: the same open file description (handler without get_id). */
	CHECK_ERR(tc_preserve(core, s1, d, 3), -EBUSY);
	CHECK_ERR(tc_preserve(core, s2, d, 3), -EBUSY);
	CHECK_EQ(th.calls[TC_PRESERVE], 1);
	CHECK_EQ(files_of(core), 1);
	/* Free again once its session is closed. */
	luo_core_session_release(core, s1);
	CHECK_ERR(tc_preserve(core, s2, d, 3), 0);
	luo_core_free(core);
	close(p);
	close(d);
	return TEST_PASS;
}

/* Without get_id, two opens of one regular file are two files. */
static int test_two_opens_regular_file(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_REG, false);
	char path[] = "/tmp/luo-core-test-XXXXXX";
	int a = mkstemp(path), b;
	struct luo_session *s;

	CHECK(core && a >= 0);
	b = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	CHECK(b >= 0);
	if (!tc_same_ofd(a, a)) {
		close(a);
		close(b);
		luo_core_free(core);
		SKIP("kcmp(KCMP_FILE) is not available");
	}
	CHECK(!tc_same_ofd(a, b));
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, a, 1), 0);
	CHECK_ERR(tc_preserve(core, s, b, 2), 0);
	CHECK_EQ(files_of(core), 2);
	luo_core_free(core);
	close(a);
	close(b);
	return TEST_PASS;
}

/* With get_id (memfd: the inode), another open of the same memfd is busy. */
static int test_ebusy_memfd_inode(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_file_handler memfd;
	int m = tc_memfd("m"), m2, other = tc_memfd("other");
	char path[64];
	struct luo_session *s1, *s2;

	CHECK(core && m >= 0 && other >= 0);
	luo_memfd_handler_init(&memfd);
	CHECK_ERR(luo_register_file_handler(core, &memfd), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	m2 = open(path, O_RDWR | O_CLOEXEC);
	CHECK(m2 >= 0);
	CHECK(!tc_same_ofd(m, m2));
	CHECK_ERR(tc_create(core, "s1", &s1), 0);
	CHECK_ERR(tc_create(core, "s2", &s2), 0);
	CHECK_ERR(tc_preserve(core, s1, m, 1), 0);
	CHECK_ERR(tc_preserve(core, s1, m2, 2), -EBUSY);
	CHECK_ERR(tc_preserve(core, s2, m2, 2), -EBUSY);
	CHECK_ERR(tc_preserve(core, s2, m, 2), -EBUSY);
	CHECK_ERR(tc_preserve(core, s2, other, 2), 0);
	luo_core_session_release(core, s1);
	CHECK_ERR(tc_preserve(core, s2, m2, 1), 0);
	luo_core_free(core);
	close(m);
	close(m2);
	close(other);
	return TEST_PASS;
}

/* A handler's preserve error is returned as is and everything is undone. */
static int test_handler_error_undone(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	int p = tc_pipe(NULL), fds;
	int errs[] = { EOPNOTSUPP, EFBIG, ENOMEM, EACCES, EIO };
	struct luo_session *s;

	CHECK(core && p >= 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	fds = test_count_fds();
	for (size_t i = 0; i < TC_ARRAY_SIZE(errs); i++) {
		th.fail_at[TC_PRESERVE] = th.calls[TC_PRESERVE] + 1;
		th.fail_errno[TC_PRESERVE] = errs[i];
		CHECK_ERR(tc_preserve(core, s, p, 5), -errs[i]);
		CHECK_EQ(test_count_fds(), fds);
		CHECK_EQ(files_of(core), 0);
	}
	CHECK_EQ(th.calls[TC_UNPRESERVE], 0);
	/* Neither the token nor the file stayed taken. */
	CHECK_ERR(tc_preserve(core, s, p, 5), 0);
	CHECK_EQ(test_count_fds(), fds + 1);
	luo_core_free(core);
	CHECK_EQ(test_count_fds(), fds);
	close(p);
	return TEST_PASS;
}

/*
 * PRESERVE_FD checks in the kernel's order: token (EEXIST), capacity
 * (ENOSPC), fd (EBADF), handler (ENOENT), double preservation (EBUSY).
 */
static int test_check_order(void)
{
	struct luo_core *core = core_with(1, TC_TAKE_FIFO, false);
	int p = tc_pipe(NULL), q = tc_pipe(NULL);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int npath = open("/dev/null", O_PATH | O_CLOEXEC);
	struct luo_session *full, *s;

	CHECK(core && p >= 0 && q >= 0 && null >= 0 && npath >= 0);
	CHECK_ERR(tc_create(core, "full", &full), 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, full, p, 1), 0);
	/* EEXIST before ENOSPC, EBADF, ENOENT, EBUSY. */
	CHECK_ERR(tc_preserve(core, full, -1, 1), -EEXIST);
	CHECK_ERR(tc_preserve(core, full, null, 1), -EEXIST);
	CHECK_ERR(tc_preserve(core, full, p, 1), -EEXIST);
	/* ENOSPC before EBADF, ENOENT, EBUSY. */
	CHECK_ERR(tc_preserve(core, full, -1, 2), -ENOSPC);
	CHECK_ERR(tc_preserve(core, full, null, 2), -ENOSPC);
	CHECK_ERR(tc_preserve(core, full, p, 2), -ENOSPC);
	/* EBADF before ENOENT: an O_PATH fd of a file nobody takes. */
	CHECK_ERR(tc_preserve(core, s, npath, 1), -EBADF);
	CHECK_ERR(tc_preserve(core, s, null, 1), -ENOENT);
	/* ENOENT before EBUSY: a preserved file no handler takes any more. */
	th.take = 0;
	CHECK_ERR(tc_preserve(core, s, p, 1), -ENOENT);
	th.take = TC_TAKE_FIFO;
	CHECK_ERR(tc_preserve(core, s, p, 1), -EBUSY);
	/* EBUSY before the handler's preserve. */
	CHECK_EQ(th.calls[TC_PRESERVE], 1);
	CHECK_ERR(tc_preserve(core, s, q, 1), 0);
	luo_core_free(core);
	close(p);
	close(q);
	close(null);
	close(npath);
	return TEST_PASS;
}

/* The last close of an outgoing session unpreserves newest first. */
static int test_release_lifo(void)
{
	struct luo_core *core = core_with(0, TC_TAKE_ALL, false);
	struct luo_session *s, *other;
	uint64_t tags[16];
	int fds = test_count_fds();
	uint32_t out;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_create(core, "other", &other), 0);
	for (int i = 0; i < 6; i++) {
		int fd = tc_eventfd();

		CHECK(fd >= 0);
		CHECK_ERR(tc_preserve(core, i == 3 ? other : s, fd,
				      100 - (uint64_t)i), 0);
		close(fd);
	}
	tc_log_reset();
	luo_core_session_release(core, s);
	CHECK_EQ(tc_log_tags(TC_UNPRESERVE, tags, 16), 5);
	CHECK_EQ(tags[0], 6);
	CHECK_EQ(tags[1], 5);
	CHECK_EQ(tags[2], 3);
	CHECK_EQ(tags[3], 2);
	CHECK_EQ(tags[4], 1);
	CHECK_EQ(test_count_fds(), fds + 1);
	CHECK_EQ(files_of(core), 1);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 1);
	/* The name and the tokens are free. */
	CHECK_ERR(tc_create(core, "s", &s), 0);
	luo_core_free(core);
	CHECK_EQ(test_count_fds(), fds);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_preserve_basic),
	TEST_CASE(test_token_per_session),
	TEST_CASE(test_enospc_max_files),
	TEST_CASE(test_ten_thousand_files),
	TEST_CASE(test_ebadf),
	TEST_CASE(test_enoent_no_handler),
	TEST_CASE(test_handler_order),
	TEST_CASE(test_ebusy_same_file),
	TEST_CASE(test_two_opens_regular_file),
	TEST_CASE(test_ebusy_memfd_inode),
	TEST_CASE(test_handler_error_undone),
	TEST_CASE(test_check_order),
	TEST_CASE(test_release_lifo),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
