// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An UPGRADE's handover (issue 9): written without a freeze under the same
 * update number as "luo-handover-v2", and read back as it was whatever
 * mode the reader asks for: outgoing sessions stay outgoing, nothing is
 * frozen or unfrozen, the RFC's PREPARED is kept.  A REBOOT's handover is
 * still "luo-handover-v1", which every release since 0.1.0 takes over.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_internal.h"
#include "tc.h"

static struct tc_handler th_old, th_new;

struct fd_list {
	int fds[8];
	size_t n;
};

static int collect_fd(void *ctx, int fd)
{
	struct fd_list *l = ctx;

	if (l->n == TC_ARRAY_SIZE(l->fds))
		return -ENOSPC;
	l->fds[l->n++] = fd;
	return 0;
}

/*
 * A core with session "s" (two files) in PREPARED, its handover written
 * as @upgrade says, then ended as an exec ends it: the preserved fds keep
 * their numbers.
 */
static int write_one(bool upgrade, void **blob, size_t *len, int *lfd)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_handover_info info = {
		.update_number = 7, .reply_fd = -1, .self_fd = -1,
		.upgrade = upgrade,
	};
	struct luo_session *s;
	struct fd_list l = { .n = 0 };
	int saved[8], fd;

	tc_handler_init(&th_old, "fake", TC_TAKE_ALL, false);
	if (!core || luo_register_file_handler(core, &th_old.h) ||
	    tc_create(core, "s", &s))
		return -1;
	for (int i = 0; i < 2; i++) {
		fd = tc_eventfd();
		if (fd < 0 || tc_preserve(core, s, fd, (uint64_t)i))
			return -1;
		close(fd);
	}
	if (luo_state_set_event(core, LIVEUPDATE_PREPARE))
		return -1;
	info.listen_fd = tc_pipe(NULL);
	tc_log_reset();
	if (luo_handover_write(core, &info, blob, len) ||
	    luo_core_for_each_outgoing_fd(core, collect_fd, &l))
		return -1;
	for (size_t i = 0; i < l.n; i++)
		saved[i] = fcntl(l.fds[i], F_DUPFD_CLOEXEC, 0);
	luo_core_free(core);
	for (size_t i = 0; i < l.n; i++) {
		dup2(saved[i], l.fds[i]);
		close(saved[i]);
	}
	*lfd = info.listen_fd;
	return 0;
}

static int read_one(bool upgrade, enum luo_handover_mode mode)
{
	struct luo_handover_info info;
	struct luo_core *core;
	uint32_t out, in;
	uint64_t files;
	char why[256];
	void *blob;
	size_t len;
	int lfd, ret;

	CHECK(!write_one(upgrade, &blob, &len, &lfd));
	CHECK_EQ(tc_log_count(TC_FREEZE), 0);
	CHECK(memmem(blob, len, upgrade ? "luo-handover-v2" :
		     "luo-handover-v1", 16) != NULL);
	core = tc_core(0, 0);
	tc_handler_init(&th_new, "fake", TC_TAKE_ALL, false);
	CHECK(core && !luo_register_file_handler(core, &th_new.h));
	ret = luo_handover_read_mode(core, blob, len, mode, &info, why,
				     sizeof(why));
	if (ret)
		fprintf(stderr, "refused: %s\n", why);
	CHECK_ERR(ret, 0);
	CHECK_EQ(info.upgrade, upgrade);
	CHECK_EQ(luo_core_update_number(core), 7);
	luo_core_counts(core, &out, &in, &files);
	if (upgrade || mode == LUO_HANDOVER_RESTORE) {
		CHECK_EQ(out, 1);
		CHECK_EQ(in, 0);
	} else {
		CHECK_EQ(out, 0);
		CHECK_EQ(in, 1);
	}
	CHECK_EQ(files, 2);
	if (upgrade) {
		/* Nothing frozen: nothing to thaw, and still PREPARED. */
		CHECK_EQ(luo_state_get(core), LIVEUPDATE_STATE_PREPARED);
		luo_core_unfreeze(core);
		CHECK_EQ(tc_log_count(TC_UNFREEZE), 0);
		CHECK_EQ(tc_log_count(TC_FREEZE), 0);
	}
	luo_handover_discard(core, &info);
	luo_handover_info_release(&info);
	luo_core_free(core);
	free(blob);
	close(lfd);
	return TEST_PASS;
}

static int test_upgrade_read_as_takeover(void)
{
	return read_one(true, LUO_HANDOVER_TAKEOVER);
}

static int test_upgrade_read_as_restore(void)
{
	return read_one(true, LUO_HANDOVER_RESTORE);
}

static int test_reboot_still_v1(void)
{
	return read_one(false, LUO_HANDOVER_TAKEOVER);
}

static const struct test_case cases[] = {
	TEST_CASE(test_upgrade_read_as_takeover),
	TEST_CASE(test_upgrade_read_as_restore),
	TEST_CASE(test_reboot_still_v1),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
