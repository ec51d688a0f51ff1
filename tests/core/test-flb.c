// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FLBs (SPEC.md 5, G4): registration errors, the global outgoing count,
 * rollback of a failed preserve, the handover of (compatible, data, count),
 * and the incoming lifecycle with lazy retrieve and get/put references.
 */
#include <stdlib.h>
#include <unistd.h>

#include "tc.h"

static struct tc_handler h1, h2;
static struct tc_flb fa, fb, fc;

static void init_all(void)
{
	tc_handler_init(&h1, "h1", TC_TAKE_FIFO, false);
	tc_handler_init(&h2, "h2", TC_TAKE_ANON, false);
	tc_flb_init(&fa, "flb-a", 0xA11CE);
	tc_flb_init(&fb, "flb-b", 0xB0B);
	tc_flb_init(&fc, "flb-c", 0xC0C);
}

/* h1 links A then B; h2 links A; C is linked to h2 but never used by h1. */
static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &h1.h) ?:
	       luo_register_file_handler(core, &h2.h) ?:
	       luo_register_flb(core, &h1.h, &fa.flb) ?:
	       luo_register_flb(core, &h1.h, &fb.flb) ?:
	       luo_register_flb(core, &h2.h, &fa.flb) ?:
	       luo_register_flb(core, &h2.h, &fc.flb);
}

static struct luo_core *core_new(void)
{
	struct luo_core *core = tc_core(0, 0);

	init_all();
	if (core && setup(core, NULL)) {
		luo_core_free(core);
		return NULL;
	}
	return core;
}

static int test_register_errors(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct tc_handler other;
	struct tc_flb bad, twin;
	void (**ops[4])(void);

	init_all();
	CHECK(core);
	tc_handler_init(&other, "other", TC_TAKE_ALL, false);
	CHECK_ERR(luo_register_file_handler(core, &h1.h), 0);
	/* A missing op, each in turn. */
	for (int i = 0; i < 4; i++) {
		tc_flb_init(&bad, "bad", 1);
		ops[0] = (void (**)(void))&bad.ops.preserve;
		ops[1] = (void (**)(void))&bad.ops.unpreserve;
		ops[2] = (void (**)(void))&bad.ops.retrieve;
		ops[3] = (void (**)(void))&bad.ops.finish;
		*ops[i] = NULL;
		CHECK_ERR(luo_register_flb(core, &h1.h, &bad.flb), -EINVAL);
	}
	tc_flb_init(&bad, "bad", 1);
	bad.flb.ops = NULL;
	CHECK_ERR(luo_register_flb(core, &h1.h, &bad.flb), -EINVAL);
	tc_flb_init(&bad, "", 1);
	CHECK_ERR(luo_register_flb(core, &h1.h, &bad.flb), -EINVAL);
	/* A handler not registered with this core. */
	CHECK_ERR(luo_register_flb(core, &other.h, &fa.flb), -EINVAL);
	/* The same FLB twice on a handler. */
	CHECK_ERR(luo_register_flb(core, &h1.h, &fa.flb), 0);
	CHECK_ERR(luo_register_flb(core, &h1.h, &fa.flb), -EEXIST);
	/* Another FLB with the same compatible, on this or another handler. */
	tc_flb_init(&twin, "flb-a", 2);
	CHECK_ERR(luo_register_flb(core, &h1.h, &twin.flb), -EEXIST);
	CHECK_ERR(luo_register_file_handler(core, &other.h), 0);
	CHECK_ERR(luo_register_flb(core, &other.h, &twin.flb), -EEXIST);
	/* One FLB on two handlers is fine. */
	CHECK_ERR(luo_register_flb(core, &other.h, &fa.flb), 0);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_register_enospc(void)
{
	struct luo_core *core = tc_core(0, 0);
	static struct tc_flb many[LUO_MAX_FLBS + 2];
	char name[32];

	init_all();
	CHECK(core);
	CHECK_ERR(luo_register_file_handler(core, &h1.h), 0);
	CHECK_ERR(luo_register_file_handler(core, &h2.h), 0);
	for (int i = 0; i < LUO_MAX_FLBS; i++) {
		snprintf(name, sizeof(name), "flb-%d", i);
		tc_flb_init(&many[i], name, (uint64_t)i);
		CHECK_ERR(luo_register_flb(core, &h1.h, &many[i].flb), 0);
	}
	/* The 64th. */
	tc_flb_init(&many[LUO_MAX_FLBS], "flb-64th", 64);
	CHECK_ERR(luo_register_flb(core, &h1.h, &many[LUO_MAX_FLBS].flb),
		  -ENOSPC);
	CHECK_ERR(luo_register_flb(core, &h2.h, &many[LUO_MAX_FLBS].flb),
		  -ENOSPC);
	/* Linking an existing FLB to another handler takes no new slot. */
	CHECK_ERR(luo_register_flb(core, &h2.h, &many[0].flb), 0);
	/* Unregistering its last link frees a slot. */
	luo_unregister_flb(core, &h1.h, &many[5].flb);
	CHECK_ERR(luo_register_flb(core, &h1.h, &many[LUO_MAX_FLBS].flb), 0);
	tc_flb_init(&many[LUO_MAX_FLBS + 1], "flb-65th", 65);
	CHECK_ERR(luo_register_flb(core, &h1.h, &many[LUO_MAX_FLBS + 1].flb),
		  -ENOSPC);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_outgoing_lifecycle(void)
{
	struct luo_core *core = core_new();
	struct luo_session *s;
	void *obj = (void *)1;
	long i_a, i_b, i_h;
	int p[3];

	CHECK(core);
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == NULL);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	for (int i = 0; i < 3; i++)
		CHECK((p[i] = tc_pipe(NULL)) >= 0);
	CHECK_ERR(tc_preserve(core, s, p[0], 1), 0);
	/* The first file: A, then B, then the handler. */
	i_a = tc_log_find(TC_FLB_PRESERVE, 0, 0);
	CHECK(i_a >= 0 && tc_log[i_a].owner == &fa);
	i_b = tc_log_find(TC_FLB_PRESERVE, 0, (size_t)i_a + 1);
	CHECK(i_b > i_a && tc_log[i_b].owner == &fb);
	i_h = tc_log_find(TC_PRESERVE, 1, 0);
	CHECK(i_h > i_b);
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == &fa.out_obj);
	CHECK_ERR(tc_preserve(core, s, p[1], 2), 0);
	CHECK_ERR(tc_preserve(core, s, p[2], 3), 0);
	CHECK_EQ(fa.calls[TC_FLB_PRESERVE], 1);
	CHECK_EQ(fb.calls[TC_FLB_PRESERVE], 1);
	CHECK_EQ(fc.calls[TC_FLB_PRESERVE], 0);
	/* Unpreserve at the last user, after its handler, B before A. */
	tc_log_reset();
	luo_core_session_release(core, s);
	CHECK_EQ(tc_nlog, 5);
	CHECK_EQ(tc_log[0].op, TC_UNPRESERVE);
	CHECK_EQ(tc_log[2].op, TC_UNPRESERVE);
	CHECK_EQ(tc_log[2].tag, 1);
	CHECK_EQ(tc_log[3].op, TC_FLB_UNPRESERVE);
	CHECK(tc_log[3].owner == &fb);
	CHECK_EQ(tc_log[4].op, TC_FLB_UNPRESERVE);
	CHECK(tc_log[4].owner == &fa);
	CHECK(fa.last_obj == &fa.out_obj);
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == NULL);
	/* Preserved again: preserve runs again. */
	CHECK_ERR(tc_create(core, "t", &s), 0);
	CHECK_ERR(tc_preserve(core, s, p[0], 1), 0);
	CHECK_EQ(fa.calls[TC_FLB_PRESERVE], 2);
	luo_core_free(core);
	CHECK_EQ(fa.calls[TC_FLB_UNPRESERVE], 2);
	for (int i = 0; i < 3; i++)
		close(p[i]);
	return TEST_PASS;
}

/* One FLB linked to two handlers has one count. */
static int test_shared_count(void)
{
	struct luo_core *core = core_new();
	struct luo_session *s1, *s2;
	int p = tc_pipe(NULL), e = tc_eventfd();
	void *obj;

	CHECK(core && p >= 0 && e >= 0);
	CHECK_ERR(tc_create(core, "s1", &s1), 0);
	CHECK_ERR(tc_create(core, "s2", &s2), 0);
	CHECK_ERR(tc_preserve(core, s1, p, 1), 0);
	CHECK_ERR(tc_preserve(core, s2, e, 1), 0);
	CHECK_EQ(fa.calls[TC_FLB_PRESERVE], 1);
	CHECK_EQ(fb.calls[TC_FLB_PRESERVE], 1);
	CHECK_EQ(fc.calls[TC_FLB_PRESERVE], 1);
	luo_core_session_release(core, s1);
	CHECK_EQ(fa.calls[TC_FLB_UNPRESERVE], 0);
	CHECK_EQ(fb.calls[TC_FLB_UNPRESERVE], 1);
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == &fa.out_obj);
	luo_core_session_release(core, s2);
	CHECK_EQ(fa.calls[TC_FLB_UNPRESERVE], 1);
	CHECK_EQ(fc.calls[TC_FLB_UNPRESERVE], 1);
	luo_core_free(core);
	close(p);
	close(e);
	return TEST_PASS;
}

/* A failing FLB preserve rolls back the earlier FLBs of the file. */
static int test_preserve_failure_rollback(void)
{
	struct luo_core *core = core_new();
	struct luo_session *s;
	int p = tc_pipe(NULL), q = tc_pipe(NULL), e = tc_eventfd(), fds;
	uint64_t files;
	void *obj;

	CHECK(core && p >= 0 && q >= 0 && e >= 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	fds = test_count_fds();
	fb.fail_at[TC_FLB_PRESERVE] = 1;
	fb.fail_errno[TC_FLB_PRESERVE] = ENODEV;
	CHECK_ERR(tc_preserve(core, s, p, 1), -ENODEV);
	CHECK_EQ(fa.calls[TC_FLB_PRESERVE], 1);
	CHECK_EQ(fa.calls[TC_FLB_UNPRESERVE], 1);
	CHECK_EQ(h1.calls[TC_PRESERVE], 0);
	CHECK_EQ(test_count_fds(), fds);
	luo_core_counts(core, NULL, NULL, &files);
	CHECK_EQ(files, 0);
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == NULL);
	/* With A already in use by another file, A is only counted down. */
	CHECK_ERR(tc_preserve(core, s, e, 2), 0);	/* h2: A, C */
	CHECK_EQ(fa.calls[TC_FLB_PRESERVE], 2);
	fb.fail_at[TC_FLB_PRESERVE] = 2;
	fb.fail_errno[TC_FLB_PRESERVE] = ENOMEM;
	CHECK_ERR(tc_preserve(core, s, p, 1), -ENOMEM);
	CHECK_EQ(fa.calls[TC_FLB_UNPRESERVE], 1);
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == &fa.out_obj);
	/* A handler preserve failure after the FLBs undoes them, B then A. */
	h1.fail_at[TC_PRESERVE] = 1;
	h1.fail_errno[TC_PRESERVE] = EPERM;
	tc_log_reset();
	CHECK_ERR(tc_preserve(core, s, q, 3), -EPERM);
	CHECK_EQ(fb.calls[TC_FLB_PRESERVE], 3);
	CHECK_EQ(fb.calls[TC_FLB_UNPRESERVE], 1);
	CHECK_EQ(tc_log_count(TC_FLB_UNPRESERVE), 1);	/* B only: A in use */
	CHECK_EQ(test_count_fds(), fds + 1);
	/* Now it works, and the counts are right. */
	CHECK_ERR(tc_preserve(core, s, q, 3), 0);
	luo_core_session_release(core, s);
	CHECK_EQ(fa.calls[TC_FLB_PRESERVE], 2);
	CHECK_EQ(fa.calls[TC_FLB_UNPRESERVE], 2);
	CHECK_EQ(fb.calls[TC_FLB_UNPRESERVE], 2);
	luo_core_free(core);
	close(p);
	close(q);
	close(e);
	return TEST_PASS;
}

/* Three pipes (h1: A, B) in "s"; nothing uses C. */
static struct luo_core *booted(void)
{
	struct luo_core *old = core_new();
	struct luo_session *s;

	if (!old || tc_create(old, "s", &s))
		return NULL;
	for (int i = 0; i < 3; i++) {
		int p = tc_pipe(NULL);

		if (p < 0 || tc_preserve(old, s, p, (uint64_t)i))
			return NULL;
		close(p);
	}
	fa.data = 0;	/* the old values must come from the handover */
	return tc_reboot(old, 2, setup, NULL);
}

static int test_incoming_lifecycle(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	void *obj = NULL;

	CHECK(core);
	CHECK_EQ(fa.calls[TC_FLB_RETRIEVE], 0);
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), 0);
	CHECK(obj == &fa.in_obj);
	CHECK_EQ(fa.seen_data, 0xA11CE);
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), 0);
	CHECK_EQ(fa.calls[TC_FLB_RETRIEVE], 1);
	/* Not handed over: C was unused; D is not even known. */
	CHECK_ERR(luo_flb_get_incoming(core, &fc.flb, &obj), -ENOENT);
	/* Outgoing is separate: nothing preserved in this image. */
	CHECK_ERR(luo_flb_get_outgoing(core, &fa.flb, &obj), 0);
	CHECK(obj == NULL);
	/* Count 3 (files) + 2 (gets).  Finishing the files leaves 2. */
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_EQ(fa.calls[TC_FLB_FINISH], 0);
	/* B was never retrieved: retrieve, then finish, at count 0. */
	CHECK_EQ(fb.calls[TC_FLB_RETRIEVE], 1);
	CHECK_EQ(fb.calls[TC_FLB_FINISH], 1);
	CHECK_EQ(fb.seen_data, 0xB0B);
	CHECK(fb.last_obj == &fb.in_obj);
	{
		long r = -1, f = -1;

		for (size_t i = 0; i < tc_nlog; i++) {
			if (tc_log[i].owner != &fb)
				continue;
			if (tc_log[i].op == TC_FLB_RETRIEVE)
				r = (long)i;
			if (tc_log[i].op == TC_FLB_FINISH)
				f = (long)i;
		}
		CHECK(r >= 0 && r < f);
	}
	CHECK_ERR(luo_flb_get_incoming(core, &fb.flb, &obj), -ENODATA);
	luo_flb_put_incoming(core, &fa.flb);
	CHECK_EQ(fa.calls[TC_FLB_FINISH], 0);
	luo_flb_put_incoming(core, &fa.flb);
	CHECK_EQ(fa.calls[TC_FLB_FINISH], 1);
	CHECK(fa.last_obj == &fa.in_obj);
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), -ENODATA);
	/* Extra puts do nothing. */
	luo_flb_put_incoming(core, &fa.flb);
	CHECK_EQ(fa.calls[TC_FLB_FINISH], 1);
	CHECK_EQ(fa.calls[TC_FLB_RETRIEVE], 1);
	luo_core_free(core);
	return TEST_PASS;
}

/* The finish comes after the handler's finish of the last file. */
static int test_incoming_finish_order(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	long last_file = -1, fin_a = -1, fin_b = -1;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	tc_log_reset();
	luo_core_session_release(core, s);
	for (size_t i = 0; i < tc_nlog; i++) {
		if (tc_log[i].op == TC_FINISH)
			last_file = (long)i;
		if (tc_log[i].op == TC_FLB_FINISH)
			*(tc_log[i].owner == &fa ? &fin_a : &fin_b) = (long)i;
	}
	CHECK(last_file >= 0);
	CHECK(fin_b > last_file);
	CHECK(fin_a > fin_b);	/* reverse link order */
	luo_core_free(core);
	return TEST_PASS;
}

static int test_incoming_without_data(void)
{
	struct luo_core *core = core_new();
	struct luo_core *old;
	void *obj;

	CHECK(core);
	/* A first start: no incoming FLB data at all. */
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), -ENODATA);
	CHECK_ERR(luo_flb_get_incoming(core, &fc.flb, &obj), -ENODATA);
	/* A reboot with no FLB in use hands none over. */
	old = core;
	core = tc_reboot(old, 2, setup, NULL);
	CHECK(core);
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), -ENODATA);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_unregistered_flb(void)
{
	struct luo_core *core = core_new();
	struct tc_flb stray;
	void *obj;

	CHECK(core);
	tc_flb_init(&stray, "stray", 1);
	CHECK_ERR(luo_flb_get_outgoing(core, &stray.flb, &obj), -EINVAL);
	CHECK_ERR(luo_flb_get_incoming(core, &stray.flb, &obj), -EINVAL);
	luo_flb_put_incoming(core, &stray.flb);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_incoming_retrieve_error(void)
{
	struct luo_core *core = booted();
	void *obj;

	CHECK(core);
	fa.fail_at[TC_FLB_RETRIEVE] = 1;
	fa.fail_errno[TC_FLB_RETRIEVE] = EIO;
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), -EIO);
	CHECK_ERR(luo_flb_get_incoming(core, &fa.flb, &obj), 0);
	CHECK_EQ(fa.calls[TC_FLB_RETRIEVE], 2);
	luo_flb_put_incoming(core, &fa.flb);
	luo_core_free(core);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_register_errors),
	TEST_CASE(test_register_enospc),
	TEST_CASE(test_outgoing_lifecycle),
	TEST_CASE(test_shared_count),
	TEST_CASE(test_preserve_failure_rollback),
	TEST_CASE(test_incoming_lifecycle),
	TEST_CASE(test_incoming_finish_order),
	TEST_CASE(test_incoming_without_data),
	TEST_CASE(test_unregistered_flb),
	TEST_CASE(test_incoming_retrieve_error),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
