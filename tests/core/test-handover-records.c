// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's records (issue 9, "Cost"): a handover written without the
 * sessions and files (luo_handover_info.records) plus the session and file
 * records that luo_core_records_changes() reported, put back together by
 * luo_handover_assemble(), is the handover of the whole state, byte for
 * byte: after preserves, a retrieve, a session's release and a HANDOVER
 * reported as changes only.
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
	struct luo_session_record srec[MAX_RECS];
	bool slive[MAX_RECS];
	int sn;
	int schanged, sgone;
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

static void sim_session_gone(void *ctx, int32_t slot)
{
	struct sim *sim = ctx;

	sim->sgone++;
	sim->slive[slot] = false;
}

static int sim_session_changed(void *ctx, int32_t old_slot,
			       const struct luo_session_record *rec)
{
	struct sim *sim = ctx;

	sim->schanged++;
	if (old_slot >= 0)
		sim->slive[old_slot] = false;
	if (sim->sn == MAX_RECS)
		return -ENOSPC;
	sim->srec[sim->sn] = *rec;
	sim->slive[sim->sn] = true;
	return sim->sn++;
}

static const struct luo_records_ops sim_ops = {
	.gone = sim_gone,
	.changed = sim_changed,
	.session_gone = sim_session_gone,
	.session_changed = sim_session_changed,
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

static int handover(struct luo_core *core, struct luo_session *s)
{
	struct luo_session_handover arg = { .size = sizeof(arg) };
	struct luo_call call;

	luo_call_init(&call, LUO_IOCTL_HANDOVER, &arg, sizeof(arg), -1);
	return luo_core_session_ioctl(core, s, &call);
}

/* The live slots of @sim into @parts. */
static void live_parts(struct sim *sim, struct luo_file_record *files,
		       struct luo_session_record *sessions,
		       struct luo_records_parts *parts)
{
	*parts = (struct luo_records_parts){
		.files = files, .sessions = sessions,
	};
	for (int i = 0; i < sim->n; i++)
		if (sim->live[i])
			files[parts->nr_files++] = sim->rec[i];
	for (int i = 0; i < sim->sn; i++)
		if (sim->slive[i])
			sessions[parts->nr_sessions++] = sim->srec[i];
}

/* Assembled from @sim and @small: byte for byte the whole @full. */
static int same_as_full(struct sim *sim, const void *small, size_t small_len,
			const void *full, size_t full_len)
{
	struct luo_file_record files[MAX_RECS];
	struct luo_session_record sessions[MAX_RECS];
	struct luo_records_parts parts;
	size_t got_len;
	void *got;
	int count = 0;

	live_parts(sim, files, sessions, &parts);
	CHECK_ERR(luo_handover_assemble(small, small_len, &parts, &got,
					&got_len), 0);
	CHECK_EQ(same_sessions(TREE(full), TREE(got), "/sessions", &count),
		 TEST_PASS);
	CHECK_EQ(same_sessions(TREE(full), TREE(got), "/sessions-in", &count),
		 TEST_PASS);
	CHECK_EQ(count, (int)parts.nr_sessions);
	CHECK_EQ(got_len, full_len);
	CHECK(!memcmp(got, full, full_len));
	free(got);
	return TEST_PASS;
}

static int test_assembled_is_whole(void)
{
	struct luo_handover_info info = {
		.listen_fd = -1, .reply_fd = -1, .self_fd = -1,
		.update_number = 3,
	};
	struct luo_core *old = tc_core(0, 0), *core;
	struct luo_session *a, *b, *c, *d;
	struct luo_file_record files[MAX_RECS];
	struct luo_session_record sessions[MAX_RECS];
	struct luo_records_parts parts;
	struct sim sim = { .n = 0 };
	void *full, *small, *got;
	size_t full_len, small_len, got_len;
	int fd;

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
	CHECK_EQ(sim.schanged, 3);
	CHECK_EQ(sim.sgone, 0);

	/* Then only what changes. */
	sim.changed = 0;
	sim.schanged = 0;
	CHECK_ERR(tc_retrieve(core, "in", &b), 0);
	CHECK_ERR(tc_retrieve_fd(core, b, 2, &fd), 0);
	close(fd);
	CHECK_ERR(preserve_memfd(core, a, 13), 0);
	luo_core_session_release(core, c);
	CHECK_ERR(tc_create(core, "parked", &d), 0);
	CHECK_ERR(preserve_memfd(core, d, 30), 0);
	CHECK_ERR(handover(core, d), 0);
	CHECK_ERR(luo_core_records_changes(core, false, &sim_ops, &sim), 0);
	CHECK_EQ(sim.changed, 3);	/* in:2 retrieved, out:13, parked:30 */
	CHECK_EQ(sim.gone, 1);		/* gone:20 */
	CHECK_EQ(sim.schanged, 2);	/* in retrieved, parked new and moved */
	CHECK_EQ(sim.sgone, 1);		/* gone */
	CHECK_ERR(luo_core_records_changes(core, false, &sim_ops, &sim), 0);
	CHECK_EQ(sim.changed, 3);	/* nothing new */
	CHECK_EQ(sim.gone, 1);
	CHECK_EQ(sim.schanged, 2);
	CHECK_EQ(sim.sgone, 1);

	/* The small handover holds no session: it does not grow with them. */
	info.records = true;
	CHECK_ERR(luo_handover_write(core, &info, &small, &small_len), 0);
	info.records = false;
	CHECK_ERR(luo_handover_write(core, &info, &full, &full_len), 0);
	CHECK(small_len < full_len);
	CHECK(fdt_path_offset(TREE(small), "/sessions") < 0);
	/* UPDATED (in is unfinished) is found from the session records. */
	CHECK_EQ(fdt32_ld(fdt_getprop(TREE(full), 0, "rfc-state", NULL)),
		 LIVEUPDATE_STATE_UPDATED);
	CHECK_EQ(fdt32_ld(fdt_getprop(TREE(small), 0, "rfc-state", NULL)),
		 LIVEUPDATE_STATE_NORMAL);
	CHECK(fdt_path_offset(TREE(small), "/sessions-in") < 0);
	CHECK_EQ(same_as_full(&sim, small, small_len, full, full_len),
		 TEST_PASS);
	free(full);
	free(small);

	/* A session that goes leaves the rest numbered as a whole one does. */
	sim.changed = 0;
	sim.schanged = 0;
	luo_core_session_release(core, a);
	CHECK_ERR(luo_core_records_changes(core, false, &sim_ops, &sim), 0);
	CHECK_EQ(sim.schanged, 0);
	CHECK_EQ(sim.sgone, 2);
	info.records = true;
	CHECK_ERR(luo_handover_write(core, &info, &small, &small_len), 0);
	info.records = false;
	CHECK_ERR(luo_handover_write(core, &info, &full, &full_len), 0);
	CHECK_EQ(same_as_full(&sim, small, small_len, full, full_len),
		 TEST_PASS);

	/* A record of no session is refused. */
	live_parts(&sim, files, sessions, &parts);
	CHECK(parts.nr_files > 0);
	files[0].session = 999;
	CHECK_ERR(luo_handover_assemble(small, small_len, &parts, &got,
					&got_len), -EINVAL);
	/* A whole handover is taken as it is, records or not. */
	CHECK_ERR(luo_handover_assemble(full, full_len, &parts, &got,
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
