// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Freeze at reboot (SPEC.md 4.3, 4.4): FIFO across sessions and files; a
 * failure unfreezes exactly the files frozen before it (the failing
 * session's FIFO, then earlier sessions newest first) and returns its
 * errno; luo_core_unfreeze().
 */
#include <unistd.h>

#include "tc.h"

static struct tc_handler th;

/* Sessions s0, s1, s2 with 3, 0 and 3 files: tags 1-3 and 4-6. */
static struct luo_core *prepared(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *s[3];

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	if (!core || luo_register_file_handler(core, &th.h) ||
	    tc_create(core, "s0", &s[0]) || tc_create(core, "s1", &s[1]) ||
	    tc_create(core, "s2", &s[2]))
		return NULL;
	for (int i = 0; i < 6; i++) {
		int fd = tc_eventfd();

		if (fd < 0 || tc_preserve(core, s[i < 3 ? 0 : 2], fd,
					  (uint64_t)i))
			return NULL;
		close(fd);
	}
	tc_log_reset();
	return core;
}

static int test_freeze_fifo(void)
{
	struct luo_core *core = prepared();
	uint64_t tags[16];

	CHECK(core);
	CHECK_ERR(luo_core_freeze(core), 0);
	CHECK_EQ(tc_log_tags(TC_FREEZE, tags, 16), 6);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(tags[i], 1 + i);
	CHECK_EQ(tc_log_count(TC_UNFREEZE), 0);
	/* A later reboot step failed: everything unfrozen, newest session
	 * first, files in preservation order. */
	luo_core_unfreeze(core);
	CHECK_EQ(tc_log_tags(TC_UNFREEZE, tags, 16), 6);
	CHECK_EQ(tags[0], 4);
	CHECK_EQ(tags[1], 5);
	CHECK_EQ(tags[2], 6);
	CHECK_EQ(tags[3], 1);
	CHECK_EQ(tags[4], 2);
	CHECK_EQ(tags[5], 3);
	/* Unfreezing again does nothing: nothing is frozen. */
	tc_log_reset();
	luo_core_unfreeze(core);
	CHECK_EQ(tc_nlog, 0);
	/* And a second freeze works the same. */
	CHECK_ERR(luo_core_freeze(core), 0);
	CHECK_EQ(tc_log_count(TC_FREEZE), 6);
	luo_core_free(core);
	return TEST_PASS;
}

/* Failure at each position k: exactly the k-1 earlier files unfrozen. */
static int test_freeze_failure_each_position(void)
{
	static const uint64_t want[7][6] = {
		[1] = { 0 },
		[2] = { 1 },
		[3] = { 1, 2 },
		[4] = { 1, 2, 3 },		/* s2 had none frozen; then s0 */
		[5] = { 4, 1, 2, 3 },		/* s2 FIFO, then s0 */
		[6] = { 4, 5, 1, 2, 3 },
	};
	static const int nwant[7] = { 0, 0, 1, 2, 3, 4, 5 };

	for (int k = 1; k <= 6; k++) {
		struct luo_core *core = prepared();
		uint64_t tags[16];
		size_t n;

		CHECK(core);
		th.fail_at[TC_FREEZE] = k;
		th.fail_errno[TC_FREEZE] = k == 3 ? ENOSPC : EAGAIN + k;
		CHECK_ERR(luo_core_freeze(core), -(k == 3 ? ENOSPC : EAGAIN + k));
		CHECK_EQ(tc_log_count(TC_FREEZE), k);
		n = tc_log_tags(TC_UNFREEZE, tags, 16);
		CHECK_EQ(n, nwant[k]);
		for (size_t i = 0; i < n; i++)
			CHECK_EQ(tags[i], want[k][i]);
		/* Every unfreeze after the failing freeze. */
		CHECK(tc_log_find(TC_FREEZE, (uint64_t)k, 0) <
		      (n ? tc_log_find(TC_UNFREEZE, tags[0], 0) : 1L << 30));
		/* Nothing is left frozen, nothing lost: a retry works. */
		tc_log_reset();
		luo_core_unfreeze(core);
		CHECK_EQ(tc_nlog, 0);
		th.fail_at[TC_FREEZE] = 0;
		CHECK_ERR(luo_core_freeze(core), 0);
		CHECK_EQ(tc_log_count(TC_FREEZE), 6);
		CHECK_EQ(th.calls[TC_UNPRESERVE], 0);
		luo_core_free(core);
		CHECK_EQ(th.calls[TC_UNPRESERVE], 6);
	}
	return TEST_PASS;
}

/* A handler without freeze/unfreeze is frozen by the core alone. */
static int test_freeze_optional_ops(void)
{
	struct luo_core *core = prepared();

	CHECK(core);
	th.ops.freeze = NULL;
	th.ops.unfreeze = NULL;
	CHECK_ERR(luo_core_freeze(core), 0);
	luo_core_unfreeze(core);
	CHECK_EQ(tc_nlog, 0);
	luo_core_free(core);
	/* No session at all. */
	core = tc_core(0, 0);
	CHECK(core);
	CHECK_ERR(luo_core_freeze(core), 0);
	luo_core_unfreeze(core);
	luo_core_free(core);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_freeze_fifo),
	TEST_CASE(test_freeze_failure_each_position),
	TEST_CASE(test_freeze_optional_ops),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
