// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's records (issue 9, "Cost"): a handover written without the
 * files (luo_handover_info.records) plus the file records that
 * luo_core_records_changes() reported, put back together by
 * luo_handover_assemble(), is the handover of the whole state: every
 * session's files and incoming state are those a full handover writes,
 * after preserves, a retrieve and a session's release reported as
 * changes only.
 */
#include <libfdt.h>
#include <stdlib.h>
#include <unistd.h>

#include "handlers.h"
#include "tc.h"

#define MAX_RECS	64

static struct luo_file_handler memfd;

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &memfd);
}

/* The records' slots, as records.c keeps them, in memory. */
struct sim {
	struct luo_file_record rec[MAX_RECS];
	bool live[MAX_RECS];
	int n;
	int changed, gone;
};

static void sim_gone(void *ctx, const struct luo_file_gone *g)
{
	struct sim *sim = ctx;

	sim->gone++;
	if (g->slot >= 0)
		sim->live[g->slot] = false;
}

static int sim_changed(void *ctx, const struct luo_file_change *c)
{
	struct sim *sim = ctx;

	sim->changed++;
	if (c->old_slot >= 0)
		sim->live[c->old_slot] = false;
	if (sim->n == MAX_RECS)
		return -ENOSPC;
	sim->rec[sim->n] = c->rec;
	sim->live[sim->n] = true;
	return sim->n++;
}

static const struct luo_records_ops sim_ops = {
	.gone = sim_gone,
	.changed = sim_changed,
};

static int preserve_memfd(struct luo_core *core, struct luo_session *s,
			  uint64_t token)
{
	int fd = tc_memfd("records"), ret;

	if (fd < 0)
		return -EBADF;
	ret = tc_preserve(core, s, fd, token);
	close(fd);
	return ret;
}

/* The same property of two nodes: the same bytes. */
static int same_prop(const void *a, int na, const void *b, int nb,
		     const char *name)
{
	const void *pa, *pb;
	int la, lb;

	pa = fdt_getprop(a, na, name, &la);
	pb = fdt_getprop(b, nb, name, &lb);
	CHECK((pa == NULL) == (pb == NULL));
	if (!pa)
		return TEST_PASS;
	CHECK_EQ(la, lb);
	CHECK(!memcmp(pa, pb, (size_t)la));
	return TEST_PASS;
}

/* Every session of list @list in @full is in @got with the same files. */
static int same_sessions(const void *full, const void *got, const char *list,
			 int *count)
{
	int lf = fdt_path_offset(full, list), lg = fdt_path_offset(got, list);
	int node, other;

	CHECK((lf < 0) == (lg < 0));
	if (lf < 0)
		return TEST_PASS;
	fdt_for_each_subnode(node, full, lf) {
		other = fdt_subnode_offset(got, lg,
					   fdt_get_name(full, node, NULL));
		CHECK(other >= 0);
		CHECK_EQ(same_prop(full, node, got, other, "name"), TEST_PASS);
		CHECK_EQ(same_prop(full, node, got, other, "files"),
			 TEST_PASS);
		CHECK_EQ(same_prop(full, node, got, other, "files-in"),
			 TEST_PASS);
		CHECK_EQ(same_prop(full, node, got, other, "flags"),
			 TEST_PASS);
		(*count)++;
	}
	return TEST_PASS;
}

/* 16 bytes of header, then the tree. */
#define TREE(blob)	((const char *)(blob) + 16)

static int test_assembled_is_whole(void)
{
	struct luo_handover_info info = {
		.listen_fd = -1, .reply_fd = -1, .self_fd = -1,
		.update_number = 3,
	};
	struct luo_core *old = tc_core(0, 0), *core;
	struct luo_session *a, *b, *c;
	struct luo_file_record live[MAX_RECS];
	struct sim sim = { .n = 0 };
	void *full, *small, *got;
	size_t full_len, small_len, got_len, n = 0;
	int fd, count = 0;

	CHECK(old);
	luo_memfd_handler_init(&memfd);
	CHECK_ERR(setup(old, NULL), 0);
	CHECK_ERR(tc_create(old, "in", &b), 0);
	for (uint64_t t = 1; t <= 3; t++)
		CHECK_ERR(preserve_memfd(old, b, t), 0);
	core = tc_reboot(old, 2, setup, NULL);
	CHECK(core);
	info.listen_fd = tc_pipe(NULL);
	CHECK(info.listen_fd >= 0);
	luo_core_track_changes(core);
	CHECK_ERR(tc_create(core, "out", &a), 0);
	for (uint64_t t = 10; t <= 12; t++)
		CHECK_ERR(preserve_memfd(core, a, t), 0);
	CHECK_ERR(tc_create(core, "gone", &c), 0);
	CHECK_ERR(preserve_memfd(core, c, 20), 0);
	/* The first commit: everything. */
	CHECK_ERR(luo_core_records_changes(core, true, &sim_ops, &sim), 0);
	CHECK_EQ(sim.changed, 7);
	CHECK_EQ(sim.gone, 0);

	/* Then only what changes. */
	sim.changed = 0;
	CHECK_ERR(tc_retrieve(core, "in", &b), 0);
	CHECK_ERR(tc_retrieve_fd(core, b, 2, &fd), 0);
	close(fd);
	CHECK_ERR(preserve_memfd(core, a, 13), 0);
	luo_core_session_release(core, c);
	CHECK_ERR(luo_core_records_changes(core, false, &sim_ops, &sim), 0);
	CHECK_EQ(sim.changed, 2);	/* in:2 retrieved, out:13 */
	CHECK_EQ(sim.gone, 1);		/* gone:20 */
	CHECK_ERR(luo_core_records_changes(core, false, &sim_ops, &sim), 0);
	CHECK_EQ(sim.changed, 2);	/* nothing new */
	CHECK_EQ(sim.gone, 1);

	for (int i = 0; i < sim.n; i++)
		if (sim.live[i])
			live[n++] = sim.rec[i];
	CHECK_EQ(n, 7);
	CHECK_ERR(luo_handover_write(core, &info, &full, &full_len), 0);
	info.records = true;
	CHECK_ERR(luo_handover_write(core, &info, &small, &small_len), 0);
	CHECK(small_len < full_len);
	CHECK_ERR(luo_handover_assemble(small, small_len, live, n, &got,
					&got_len), 0);
	CHECK_EQ(same_sessions(TREE(full), TREE(got), "/sessions", &count),
		 TEST_PASS);
	CHECK_EQ(same_sessions(TREE(full), TREE(got), "/sessions-in", &count),
		 TEST_PASS);
	CHECK_EQ(count, 2);
	free(got);

	/* A record of no session is refused. */
	live[0].session = 999;
	CHECK_ERR(luo_handover_assemble(small, small_len, live, n, &got,
					&got_len), -EINVAL);
	/* A whole handover is taken as it is, records or not. */
	CHECK_ERR(luo_handover_assemble(full, full_len, live, n, &got,
					&got_len), 0);
	CHECK_EQ(got_len, full_len);
	free(got);
	free(full);
	free(small);
	close(info.listen_fd);
	luo_core_free(core);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		{ "assembled_is_whole", test_assembled_is_whole },
	};

	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
