// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo's own device requests through luo_core_device_ioctl (DESIGN.md
 * section 6): STATUS counts and LIST paging; and the file handler registry
 * (SPEC.md 4.5): EINVAL for a missing op, EEXIST for a duplicate.
 */
#include <stdlib.h>
#include <unistd.h>

#include "tc.h"

static struct tc_handler th;

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &th.h);
}

static void host_status(void *ctx, struct luo_status *st)
{
	st->pid = 4321;
	st->flags = LUO_STATUS_DEVICE_OPEN;
	snprintf(st->version, sizeof(st->version), "test");
}

static int status(struct luo_core *core, struct luo_status *st)
{
	struct luo_call call;

	memset(st, 0xff, sizeof(*st));
	st->size = sizeof(*st);
	luo_call_init(&call, LUO_IOCTL_STATUS, st, sizeof(*st), -1);
	return luo_core_device_ioctl(core, &call);
}

static int test_status(void)
{
	struct luo_core_config cfg = {
		.max_sessions = 100, .max_files = 50,
		.host.status = host_status,
	};
	struct luo_core *core = luo_core_new(&cfg);
	struct luo_session *s;
	struct luo_status st;
	int p = tc_pipe(NULL), q = tc_pipe(NULL);

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	CHECK(core && p >= 0 && q >= 0);
	CHECK_ERR(setup(core, NULL), 0);
	CHECK_ERR(status(core, &st), 0);
	CHECK_EQ(st.size, sizeof(st));
	CHECK_EQ(st.update_number, 1);
	CHECK_EQ(st.nr_outgoing, 0);
	CHECK_EQ(st.nr_incoming, 0);
	CHECK_EQ(st.nr_files, 0);
	CHECK_EQ(st.max_sessions, 100);
	CHECK_EQ(st.max_files, 50);
	CHECK_EQ(st.takeover_ms, 0);	/* the host says it */
	CHECK_EQ(st.pid, 4321);
	CHECK_EQ(st.flags, LUO_STATUS_DEVICE_OPEN);
	CHECK(!strcmp(st.version, "test"));
	CHECK_ERR(tc_create(core, "a", &s), 0);
	CHECK_ERR(tc_preserve(core, s, p, 1), 0);
	CHECK_ERR(tc_preserve(core, s, q, 2), 0);
	CHECK_ERR(tc_create(core, "b", NULL), 0);
	CHECK_ERR(status(core, &st), 0);
	CHECK_EQ(st.nr_outgoing, 2);
	CHECK_EQ(st.nr_files, 2);
	close(p);
	close(q);
	core = tc_reboot(core, 9, setup, NULL);
	CHECK(core);
	CHECK_ERR(tc_create(core, "c", NULL), 0);
	CHECK_ERR(status(core, &st), 0);
	CHECK_EQ(st.update_number, 9);
	CHECK_EQ(st.nr_outgoing, 1);
	CHECK_EQ(st.nr_incoming, 2);
	CHECK_EQ(st.nr_files, 2);
	CHECK_EQ(st.max_sessions, LUO_DEFAULT_MAX_SESSIONS);
	CHECK_EQ(st.max_files, LUO_DEFAULT_MAX_FILES);
	CHECK_EQ(st.pid, 0);
	luo_core_free(core);
	return TEST_PASS;
}

struct expect {
	uint8_t type, direction;
	uint64_t token;
	uint32_t nr_files;
	char name[64];
};

static int list_page(struct luo_core *core, struct luo_list *l, void *extra,
		     uint32_t cap, struct luo_call *call)
{
	luo_call_init(call, LUO_IOCTL_LIST, l, sizeof(*l), -1);
	call->extra = extra;
	call->extra_cap = cap;
	return luo_core_device_ioctl(core, call);
}

/* Lists everything with pages of @cap bytes and compares with @want. */
static int list_all(struct luo_core *core, const struct expect *want,
		    size_t nwant, uint32_t cap, uint32_t page_records)
{
	struct luo_list_record *recs = malloc(cap ? cap : 1);
	struct luo_list l = { .size = sizeof(l) };
	struct luo_call call;
	size_t seen = 0;
	int pages = 0;

	CHECK(recs);
	do {
		CHECK_ERR(list_page(core, &l, recs, cap, &call), 0);
		CHECK_EQ(call.extra_len, l.nr_records * sizeof(*recs));
		CHECK(l.nr_records <= page_records);
		if (!l.done)
			CHECK_EQ(l.nr_records, page_records);
		for (uint32_t i = 0; i < l.nr_records; i++, seen++) {
			const struct luo_list_record *r = &recs[i];
			const struct expect *e = &want[seen];

			CHECK(seen < nwant);
			CHECK_EQ(r->type, e->type);
			CHECK_EQ(r->direction, e->direction);
			CHECK(!strcmp(r->name, e->name));
			CHECK_EQ(r->reserved, 0);
			if (e->type == LUO_LIST_FILE)
				CHECK_EQ(r->token, e->token);
			else
				CHECK_EQ(r->nr_files, e->nr_files);
		}
		CHECK(++pages < 100000);
	} while (!l.done);
	CHECK_EQ(seen, nwant);
	/* Asking again past the end gives an empty, done page. */
	CHECK_ERR(list_page(core, &l, recs, cap, &call), 0);
	CHECK_EQ(l.nr_records, 0);
	CHECK_EQ(l.done, 1);
	free(recs);
	return TEST_PASS;
}

static int test_list_paging(void)
{
	static const int files_in[] = { 300, 0, 255, 256, 1, 257, 3 };
	static struct expect want[4096];
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *s;
	size_t n = 0, n_in;
	uint32_t cap = LUO_LIST_PAGE_RECORDS * sizeof(struct luo_list_record);

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	CHECK(core);
	CHECK_ERR(setup(core, NULL), 0);
	/* Sessions made before the reboot are listed after, as incoming. */
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < TC_ARRAY_SIZE(files_in); i++) {
			struct expect *se = &want[n++];

			*se = (struct expect){ .type = LUO_LIST_SESSION,
					       .direction = k ? LUO_OUTGOING :
								LUO_INCOMING,
					       .nr_files = (uint32_t)files_in[i] };
			snprintf(se->name, sizeof(se->name), "%s-%zu",
				 k ? "out" : "in", i);
			CHECK_ERR(tc_create(core, se->name, &s), 0);
			for (int f = 0; f < files_in[i] / (k + 1); f++) {
				int p = tc_pipe(NULL);
				struct expect *fe = &want[n++];

				CHECK(p >= 0);
				*fe = (struct expect){ .type = LUO_LIST_FILE,
						       .direction = se->direction,
						       .token = 1000 * i + (uint64_t)f * 3 };
				strcpy(fe->name, "fake");
				CHECK_ERR(tc_preserve(core, s, p, fe->token), 0);
				close(p);
			}
			se->nr_files = (uint32_t)(files_in[i] / (k + 1));
		}
		if (!k) {
			n_in = n;
			core = tc_reboot(core, 2, setup, NULL);
			CHECK(core);
		}
	}
	/* Expected order: outgoing (want[n_in..n)), then incoming. */
	{
		static struct expect order[4096];

		memcpy(order, want + n_in, (n - n_in) * sizeof(*want));
		memcpy(order + (n - n_in), want, n_in * sizeof(*want));
		CHECK(n > 2 * LUO_LIST_PAGE_RECORDS);
		CHECK_EQ(list_all(core, order, n, cap, LUO_LIST_PAGE_RECORDS), 0);
		/* A buffer larger than a page still gets a page. */
		CHECK_EQ(list_all(core, order, n, cap * 2, LUO_LIST_PAGE_RECORDS),
			 0);
		/* Small buffers page by what fits. */
		CHECK_EQ(list_all(core, order, n, 3 * sizeof(struct luo_list_record),
				  3), 0);
		CHECK_EQ(list_all(core, order, n, sizeof(struct luo_list_record) + 5,
				  1), 0);
	}
	luo_core_free(core);
	return TEST_PASS;
}

static int test_list_states_and_errors(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_list_record recs[16];
	struct luo_list l = { .size = sizeof(l) };
	struct luo_session *a, *b;
	struct luo_call call;
	int p = tc_pipe(NULL);

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	CHECK(core && p >= 0);
	CHECK_ERR(setup(core, NULL), 0);
	/* Empty. */
	CHECK_ERR(list_page(core, &l, recs, sizeof(recs), &call), 0);
	CHECK_EQ(l.nr_records, 0);
	CHECK_EQ(l.done, 1);
	CHECK_ERR(tc_create(core, "a", &a), 0);
	CHECK_ERR(tc_create(core, "b", &b), 0);
	CHECK_ERR(tc_create(core, "c", NULL), 0);
	CHECK_ERR(tc_preserve(core, a, p, 5), 0);
	close(p);
	core = tc_reboot(core, 2, setup, NULL);
	CHECK(core);
	th.fail_at[TC_RETRIEVE] = 1;
	th.fail_errno[TC_RETRIEVE] = ENOMEM;
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	CHECK_ERR(tc_retrieve_fd(core, a, 5, NULL), -ENOMEM);
	CHECK_ERR(tc_retrieve(core, "b", &b), 0);
	CHECK_ERR(tc_finish(core, b), 0);
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	CHECK_ERR(list_page(core, &l, recs, sizeof(recs), &call), 0);
	CHECK_EQ(l.nr_records, 4);
	CHECK_EQ(recs[0].state, LUO_SESSION_RETRIEVED);
	CHECK_EQ(recs[1].type, LUO_LIST_FILE);
	CHECK_EQ(recs[1].retrieve_status, -ENOMEM);
	CHECK_EQ(recs[2].state, LUO_SESSION_FINISHED);
	CHECK_EQ(recs[3].state, LUO_SESSION_OPEN);
	CHECK(!strcmp(recs[3].name, "c"));
	/* flags must be zero; a payload buffer is needed. */
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.flags = 1;
	CHECK_ERR(list_page(core, &l, recs, sizeof(recs), &call), -EINVAL);
	l.flags = 0;
	CHECK_ERR(list_page(core, &l, NULL, 0, &call), -ENOBUFS);
	CHECK_ERR(list_page(core, &l, recs, sizeof(recs[0]) - 1, &call),
		  -ENOBUFS);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_register_handler_errors(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct tc_handler bad, twin, opt;
	int p = tc_pipe(NULL);
	struct luo_session *s;
	void (**req[5])(void);

	CHECK(core && p >= 0);
	for (int i = 0; i < 5; i++) {
		tc_handler_init(&bad, "bad", TC_TAKE_ALL, false);
		req[0] = (void (**)(void))&bad.ops.can_preserve;
		req[1] = (void (**)(void))&bad.ops.preserve;
		req[2] = (void (**)(void))&bad.ops.unpreserve;
		req[3] = (void (**)(void))&bad.ops.retrieve;
		req[4] = (void (**)(void))&bad.ops.finish;
		*req[i] = NULL;
		CHECK_ERR(luo_register_file_handler(core, &bad.h), -EINVAL);
	}
	tc_handler_init(&bad, "bad", TC_TAKE_ALL, false);
	bad.h.ops = NULL;
	CHECK_ERR(luo_register_file_handler(core, &bad.h), -EINVAL);
	tc_handler_init(&bad, "", TC_TAKE_ALL, false);
	CHECK_ERR(luo_register_file_handler(core, &bad.h), -EINVAL);
	tc_handler_init(&bad, "x", TC_TAKE_ALL, false);
	memset(bad.h.compatible, 'x', sizeof(bad.h.compatible));
	CHECK_ERR(luo_register_file_handler(core, &bad.h), -EINVAL);
	CHECK(!luo_find_file_handler(core, "bad"));

	tc_handler_init(&th, "fake", TC_TAKE_FIFO, false);
	tc_handler_init(&twin, "fake", TC_TAKE_ALL, false);
	CHECK_ERR(luo_register_file_handler(core, &th.h), 0);
	CHECK_ERR(luo_register_file_handler(core, &th.h), -EEXIST);
	CHECK_ERR(luo_register_file_handler(core, &twin.h), -EEXIST);
	CHECK(luo_find_file_handler(core, "fake") == &th.h);
	/* The optional ops may be missing. */
	tc_handler_init(&opt, "optional", TC_TAKE_ALL, false);
	opt.ops.freeze = NULL;
	opt.ops.unfreeze = NULL;
	opt.ops.can_finish = NULL;
	opt.ops.get_id = NULL;
	CHECK_ERR(luo_register_file_handler(core, &opt.h), 0);
	/* Unregistering a handler in use keeps it. */
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, p, 1), 0);
	luo_unregister_file_handler(core, &th.h);
	CHECK(luo_find_file_handler(core, "fake") == &th.h);
	luo_core_session_release(core, s);
	luo_unregister_file_handler(core, &th.h);
	CHECK(!luo_find_file_handler(core, "fake"));
	CHECK_ERR(luo_register_file_handler(core, &twin.h), 0);
	luo_core_free(core);
	close(p);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_status),
	TEST_CASE(test_list_paging),
	TEST_CASE(test_list_states_and_errors),
	TEST_CASE(test_register_handler_errors),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
