// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 8, item 5: an fd number of the handover is believed only if it
 * still names the file written down beside it.  The listening socket's
 * number naming another file now refuses the handover (nothing installed,
 * nothing closed); the previous image's number naming another file is
 * not reported (so never closed) and the read goes on.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tc.h"

/* A handover of one empty session, read after @fd is made another file. */
static int read_with_other_file(bool listen, int want, int *self_out)
{
	struct luo_handover_info info = { .reply_fd = -1 };
	struct luo_core *core = tc_core(0, 0), *next;
	struct luo_session *s;
	char why[256] = "";
	uint32_t out, in;
	uint64_t files;
	int self, lfd, other, victim, ret;
	void *blob;
	size_t len;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	self = tc_pipe(NULL);
	CHECK(self >= 0);
	info.self_fd = self;
	info.update_number = 2;
	lfd = tc_pipe(NULL);
	CHECK(lfd >= 0);
	info.listen_fd = lfd;
	CHECK_ERR(luo_core_freeze(core), 0);
	CHECK_ERR(luo_handover_write(core, &info, &blob, &len), 0);
	luo_core_free(core);
	/* The number now names another file, as after a rolled-back exec. */
	victim = listen ? lfd : self;
	other = memfd_create("other", MFD_CLOEXEC);
	CHECK(other >= 0);
	CHECK_EQ(dup2(other, victim), victim);
	close(other);
	next = tc_core(0, 0);
	CHECK(next);
	ret = luo_handover_read(next, blob, len, &info, why, sizeof(why));
	if (ret)
		fprintf(stderr, "refused: %s\n", why);
	CHECK_ERR(ret, want);
	luo_core_counts(next, &out, &in, &files);
	CHECK_EQ(in, want ? 0 : 1);
	/* Still open: never closed by the reader. */
	CHECK(fcntl(victim, F_GETFD) >= 0);
	*self_out = ret ? -2 : info.self_fd;
	luo_core_free(next);
	free(blob);
	close(self);
	close(lfd);
	return TEST_PASS;
}

static int test_listen_reused_refused(void)
{
	int self;

	CHECK_EQ(read_with_other_file(true, -EINVAL, &self), TEST_PASS);
	return TEST_PASS;
}

static int test_self_reused_ignored(void)
{
	int self = 0;

	CHECK_EQ(read_with_other_file(false, 0, &self), TEST_PASS);
	CHECK_EQ(self, -1);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_listen_reused_refused),
	TEST_CASE(test_self_reused_ignored),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
