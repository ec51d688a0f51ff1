// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A recovery recovers what it has (liveupdated(8), "Crash recovery"): a
 * handover read with LUO_HANDOVER_RECOVER, whose files' fds are missing
 * or name other files, restores every session with the files that check
 * and reports each one it dropped (struct luo_handover_info.dropped),
 * leaving the fds alone; so does a listening socket that does not check
 * (listen_fd -1).  TAKEOVER and RESTORE of the same handover still fail,
 * and a malformed handover (a handler missing) fails in RECOVER too.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tc.h"

#define MAX_FDS	16

static struct tc_handler th;

/* The fds a handover names, in luo_core_for_each_fd()'s order. */
struct fds {
	int fd[MAX_FDS];
	int n;
};

static int collect(void *ctx, int fd, const struct luo_fd_id *id)
{
	struct fds *l = ctx;

	(void)id;
	if (l->n == MAX_FDS)
		return -ENOSPC;
	l->fd[l->n++] = fd;
	return 0;
}

/*
 * What an exec does to @core: its handover written, the core gone, every
 * fd it names (outgoing and incoming, retrieved ones too) the same file
 * under the same number.
 */
static int exec_core(struct luo_core *core, void **blob, size_t *len,
		     int *lfd, struct fds *l)
{
	struct luo_handover_info info = {
		.update_number = 5, .reply_fd = -1, .self_fd = -1,
	};
	int saved[MAX_FDS];

	info.listen_fd = tc_pipe(NULL);
	CHECK(info.listen_fd >= 0);
	CHECK_ERR(luo_core_freeze(core), 0);
	CHECK_ERR(luo_handover_write(core, &info, blob, len), 0);
	l->n = 0;
	CHECK_ERR(luo_core_for_each_fd(core, collect, l), 0);
	for (int i = 0; i < l->n; i++) {
		saved[i] = fcntl(l->fd[i], F_DUPFD_CLOEXEC, 0);
		CHECK(saved[i] >= 0);
	}
	luo_core_free(core);
	for (int i = 0; i < l->n; i++) {
		CHECK(dup2(saved[i], l->fd[i]) == l->fd[i]);
		close(saved[i]);
	}
	*lfd = info.listen_fd;
	return TEST_PASS;
}

static int setup(struct luo_core *core, void *ctx)
{
	(void)ctx;
	return luo_register_file_handler(core, &th.h);
}

static int preserve_new(struct luo_core *core, struct luo_session *s,
			uint64_t token)
{
	int fd = tc_memfd("recover"), ret;

	if (fd < 0)
		return -EBADF;
	ret = tc_preserve(core, s, fd, token);
	close(fd);
	return ret;
}

/*
 * Outgoing "a" (tokens 1, 2, 3) and "b" (token 4); incoming "in", taken
 * over from a first core and retrieved, with token 10 retrieved.  @l:
 * the fds of a:1, a:2, a:3, b:4 and in:10's retrieved fd (the fd it was
 * taken over with is the retriever's now).
 */
static int make_handover(void **blob, size_t *len, int *lfd, struct fds *l)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *s;
	int rfd;

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	CHECK(core && !setup(core, NULL));
	CHECK_ERR(tc_create(core, "in", &s), 0);
	CHECK_ERR(preserve_new(core, s, 10), 0);
	core = tc_reboot(core, 4, setup, NULL);
	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "in", &s), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 10, &rfd), 0);
	close(rfd);
	CHECK_ERR(tc_create(core, "a", &s), 0);
	for (uint64_t t = 1; t <= 3; t++)
		CHECK_ERR(preserve_new(core, s, t), 0);
	CHECK_ERR(tc_create(core, "b", &s), 0);
	CHECK_ERR(preserve_new(core, s, 4), 0);
	CHECK_EQ(exec_core(core, blob, len, lfd, l), TEST_PASS);
	CHECK_EQ(l->n, 5);
	return TEST_PASS;
}

static int read_as(enum luo_handover_mode mode, const void *blob, size_t len,
		   struct luo_core **out, struct luo_handover_info *info,
		   char *why, size_t why_len)
{
	struct luo_core *core = tc_core(0, 0);
	int ret;

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	if (!core || setup(core, NULL))
		return -1000;
	ret = luo_handover_read_mode(core, blob, len, mode, info, why,
				     why_len);
	if (ret) {
		luo_core_free(core);
		return ret;
	}
	*out = core;
	return 0;
}

static bool dropped_says(const struct luo_handover_info *info,
			 const char *a, const char *b)
{
	for (uint32_t i = 0; i < info->nr_dropped; i++)
		if (strstr(info->dropped[i], a) && strstr(info->dropped[i], b))
			return true;
	return false;
}

/* The file under @fd is the one a session of @core holds: EBUSY. */
static int preserved_in(struct luo_core *core, int fd)
{
	struct luo_session *s;
	int ret;

	ret = tc_create(core, "probe", &s);
	if (ret)
		return ret;
	ret = tc_preserve(core, s, fd, 99);
	luo_core_session_release(core, s);
	return ret;
}

static int test_files_dropped(void)
{
	struct luo_handover_info info;
	struct luo_core *core = NULL;
	struct stat st;
	uint32_t out, in;
	uint64_t files;
	char why[256] = "";
	void *blob;
	size_t len;
	int lfd, other, other2;
	struct fds l;

	CHECK_EQ(make_handover(&blob, &len, &lfd, &l), TEST_PASS);
	/* a:2 is gone; a:3 and in:10's retrieved fd name other files. */
	close(l.fd[1]);
	other = tc_memfd("other");
	other2 = tc_eventfd();
	CHECK(other >= 0 && other2 >= 0);
	CHECK(dup2(other, l.fd[2]) == l.fd[2]);
	CHECK(dup2(other2, l.fd[4]) == l.fd[4]);
	close(other);
	close(other2);

	/* A REBOOT's new image and a rolled-back one refuse it, as before. */
	CHECK_ERR(read_as(LUO_HANDOVER_TAKEOVER, blob, len, &core, &info, why,
			  sizeof(why)), -EINVAL);
	CHECK(strstr(why, "is not open"));
	CHECK_ERR(read_as(LUO_HANDOVER_RESTORE, blob, len, &core, &info, why,
			  sizeof(why)), -EINVAL);

	/* A recovery goes on without them. */
	CHECK_ERR(read_as(LUO_HANDOVER_RECOVER, blob, len, &core, &info, why,
			  sizeof(why)), 0);
	luo_core_unfreeze(core);
	CHECK_EQ(info.listen_fd, lfd);
	CHECK_EQ(info.nr_dropped, 3);
	CHECK_EQ(info.dropped_files, 3);
	CHECK(dropped_says(&info, "token 2:", "is not open"));
	CHECK(dropped_says(&info, "token 3:", "is not the file"));
	CHECK(dropped_says(&info, "token 10: retrieved: fd ",
			   "is not the file that was written down"));
	luo_core_counts(core, &out, &in, &files);
	CHECK_EQ(out, 2);
	CHECK_EQ(in, 1);
	CHECK_EQ(files, 2);
	/* The rest intact: a:1 and b:4 held (EBUSY), the others are not. */
	CHECK_ERR(preserved_in(core, l.fd[0]), -EBUSY);
	CHECK_ERR(preserved_in(core, l.fd[3]), -EBUSY);
	CHECK_ERR(preserved_in(core, l.fd[2]), 0);
	luo_handover_info_release(&info);
	CHECK_EQ(info.nr_dropped, 0);
	CHECK(info.dropped == NULL);
	luo_core_free(core);

	/* The fds that name other files were left alone: not ours. */
	CHECK(fstat(l.fd[2], &st) == 0 && S_ISREG(st.st_mode));
	CHECK(fstat(l.fd[4], &st) == 0);
	close(l.fd[2]);
	close(l.fd[4]);
	/* What the core recovered, it closed when it was freed. */
	CHECK(fcntl(l.fd[0], F_GETFD) < 0 && fcntl(l.fd[3], F_GETFD) < 0);
	close(lfd);
	free(blob);
	return TEST_PASS;
}

static int test_listener_dropped(void)
{
	struct luo_handover_info info;
	struct luo_core *core = NULL;
	uint32_t out, in;
	uint64_t files;
	char why[256] = "";
	void *blob;
	size_t len;
	int lfd;
	struct fds l;

	CHECK_EQ(make_handover(&blob, &len, &lfd, &l), TEST_PASS);
	close(lfd);
	CHECK_ERR(read_as(LUO_HANDOVER_TAKEOVER, blob, len, &core, &info, why,
			  sizeof(why)), -EINVAL);
	CHECK(strstr(why, "listen-fd"));
	CHECK_ERR(read_as(LUO_HANDOVER_RECOVER, blob, len, &core, &info, why,
			  sizeof(why)), 0);
	luo_core_unfreeze(core);
	CHECK_EQ(info.listen_fd, -1);
	CHECK_EQ(info.nr_dropped, 1);
	CHECK_EQ(info.dropped_files, 0);
	CHECK(dropped_says(&info, "listen-fd", "is not open"));
	luo_core_counts(core, &out, &in, &files);
	CHECK_EQ(out, 2);
	CHECK_EQ(in, 1);
	CHECK_EQ(files, 5);	/* a: 3, b: 1, in: 1 */
	luo_handover_info_release(&info);
	luo_core_free(core);
	free(blob);
	return TEST_PASS;
}

/* Only fd checks are lenient: a file without its handler still fails. */
static int test_malformed_still_fails(void)
{
	struct luo_handover_info info;
	struct luo_core *core;
	char why[256] = "";
	void *blob;
	size_t len;
	int lfd, ret;
	struct fds l;

	CHECK_EQ(make_handover(&blob, &len, &lfd, &l), TEST_PASS);
	close(l.fd[1]);
	core = tc_core(0, 0);
	CHECK(core);
	ret = luo_handover_read_mode(core, blob, len, LUO_HANDOVER_RECOVER,
				     &info, why, sizeof(why));
	CHECK_ERR(ret, -EINVAL);
	CHECK(strstr(why, "no handler 'fake'"));
	luo_core_free(core);
	/* Nothing was taken: every fd but a:2 is still there, ours to close. */
	for (int i = 0; i < l.n; i++)
		if (i != 1)
			CHECK(close(l.fd[i]) == 0);
	close(lfd);
	free(blob);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		{ "files_dropped", test_files_dropped },
		{ "listener_dropped", test_listener_dropped },
		{ "malformed_still_fails", test_malformed_still_fails },
	};

	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
