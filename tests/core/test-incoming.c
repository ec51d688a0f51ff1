// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Incoming sessions (SPEC.md 2.2 step 4, 3.4, 3.6, 4.2, 11): direction
 * checks, RETRIEVE_FD (repeat, sticky errors, EBUSY until FINISH, for a
 * file a client still holds retrieved or not), FINISH
 * (can_finish FIFO before finish LIFO, EBUSY, discard, idempotence) and the
 * implicit finish of the last close.
 *
 * The incoming sessions come from a handover written by one core and read
 * by a second one in the same process.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "handlers.h"
#include "tc.h"

#define NR_FILES	4

static struct tc_handler th;
static struct luo_file_handler memfd;
static int writers[NR_FILES];

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &th.h) ?:
	       luo_register_file_handler(core, &memfd);
}

/*
 * Session "s" with NR_FILES pipes, tokens 10, 11, ... (tags 1, 2, ...),
 * each holding "pipe<i>"; session "empty"; session "mem" with a memfd
 * (token 1) at position 3.  The pipes' write ends are in writers[].
 */
static struct luo_core *booted(void)
{
	struct luo_core *old = tc_core(0, 0);
	struct luo_session *s, *e, *m;
	int mfd;

	tc_handler_init(&th, "fake", TC_TAKE_FIFO, false);
	luo_memfd_handler_init(&memfd);
	if (!old || setup(old, NULL) || tc_create(old, "s", &s) ||
	    tc_create(old, "empty", &e) || tc_create(old, "mem", &m))
		return NULL;
	for (int i = 0; i < NR_FILES; i++) {
		char msg[8];
		int r = tc_pipe(&writers[i]);

		snprintf(msg, sizeof(msg), "pipe%d", i);
		if (r < 0 || write(writers[i], msg, 5) != 5 ||
		    tc_preserve(old, s, r, 10 + (uint64_t)i))
			return NULL;
		close(r);
	}
	mfd = tc_memfd("mem");
	if (mfd < 0 || write(mfd, "0123456789", 10) != 10 ||
	    lseek(mfd, 3, SEEK_SET) != 3 || tc_preserve(old, m, mfd, 1))
		return NULL;
	close(mfd);
	return tc_reboot(old, 2, setup, NULL);
}

static void done(struct luo_core *core)
{
	luo_core_free(core);
	for (int i = 0; i < NR_FILES; i++)
		close(writers[i]);
}

static int test_direction(void)
{
	struct luo_core *core = booted();
	struct luo_session *in, *out;
	int p = tc_pipe(NULL), fd;

	CHECK(core && p >= 0);
	CHECK_ERR(tc_retrieve(core, "s", &in), 0);
	CHECK_ERR(tc_create(core, "out", &out), 0);
	CHECK_ERR(tc_preserve(core, out, p, 10), 0);
	tc_log_reset();
	CHECK_ERR(tc_preserve(core, in, p, 99), -EINVAL);
	CHECK_ERR(tc_retrieve_fd(core, out, 10, &fd), -EINVAL);
	CHECK_ERR(tc_finish(core, out), -EINVAL);
	CHECK_EQ(tc_nlog, 0);
	/* A finished incoming session is no outgoing one either. */
	CHECK_ERR(tc_finish(core, in), 0);
	CHECK_ERR(tc_preserve(core, in, p, 99), -EINVAL);
	done(core);
	close(p);
	return TEST_PASS;
}

static int test_retrieve_fd(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	char buf[8] = "";
	int a, b;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 99, &a), -ENOENT);
	CHECK_ERR(tc_retrieve_fd(core, s, 0, &a), -ENOENT);
	CHECK_EQ(th.calls[TC_RETRIEVE], 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 12, &a), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 12, &b), 0);
	CHECK(a != b);
	CHECK(tc_same_ofd(a, b));
	CHECK_EQ(th.calls[TC_RETRIEVE], 1);
	/* The data written before the "reboot" is there. */
	CHECK_EQ(read(a, buf, 5), 5);
	CHECK(!memcmp(buf, "pipe2", 5));
	close(a);
	close(b);
	/* Files can be retrieved in any order. */
	CHECK_ERR(tc_retrieve_fd(core, s, 10, &a), 0);
	CHECK_EQ(read(a, buf, 5), 5);
	CHECK(!memcmp(buf, "pipe0", 5));
	close(a);
	CHECK_EQ(th.calls[TC_RETRIEVE], 2);
	done(core);
	return TEST_PASS;
}

/* With the memfd handler: a shared position proves one description. */
static int test_retrieve_shares_position(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	char c;
	int a, b;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "mem", &s), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 1, &a), 0);
	CHECK_EQ(lseek(a, 0, SEEK_CUR), 3);
	CHECK_ERR(tc_retrieve_fd(core, s, 1, &b), 0);
	CHECK(a != b);
	CHECK(tc_same_ofd(a, b));
	CHECK_EQ(read(a, &c, 1), 1);
	CHECK_EQ(c, '3');
	CHECK_EQ(lseek(b, 0, SEEK_CUR), 4);
	CHECK_EQ(lseek(b, 8, SEEK_SET), 8);
	CHECK_EQ(lseek(a, 0, SEEK_CUR), 8);
	close(a);
	close(b);
	done(core);
	return TEST_PASS;
}

static int test_sticky_retrieve_error(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	int fd;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	th.fail_at[TC_RETRIEVE] = 1;
	th.fail_errno[TC_RETRIEVE] = EIO;
	CHECK_ERR(tc_retrieve_fd(core, s, 11, &fd), -EIO);
	CHECK_ERR(tc_retrieve_fd(core, s, 11, &fd), -EIO);
	CHECK_ERR(tc_retrieve_fd(core, s, 11, &fd), -EIO);
	CHECK_EQ(th.calls[TC_RETRIEVE], 1);
	/* Another errno is remembered as it was. */
	th.fail_at[TC_RETRIEVE] = 2;
	th.fail_errno[TC_RETRIEVE] = ENOMEM;
	CHECK_ERR(tc_retrieve_fd(core, s, 12, &fd), -ENOMEM);
	CHECK_ERR(tc_retrieve_fd(core, s, 12, &fd), -ENOMEM);
	CHECK_EQ(th.calls[TC_RETRIEVE], 2);
	/* Other files are unaffected. */
	CHECK_ERR(tc_retrieve_fd(core, s, 10, &fd), 0);
	close(fd);
	CHECK_EQ(th.calls[TC_RETRIEVE], 3);
	/* FINISH hands each file its status: <0, >0, 0. */
	tc_log_reset();
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_EQ(tc_log_count(TC_FINISH), NR_FILES);
	for (size_t i = 0; i < tc_nlog; i++) {
		struct tc_event *e = &tc_log[i];
		int want = e->tag == 2 ? -EIO : e->tag == 3 ? -ENOMEM :
			   e->tag == 1 ? 1 : 0;

		if (want > 0)
			CHECK(e->status > 0);
		else
			CHECK_EQ(e->status, want);
	}
	CHECK_ERR(tc_retrieve_fd(core, s, 11, &fd), -ENOENT);
	done(core);
	return TEST_PASS;
}

/* A retrieved file counts as preserved until its session finishes. */
static int test_retrieved_busy_until_finish(void)
{
	struct luo_core *core = booted();
	struct luo_session *in_s, *in_m, *out;
	int fd, m;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &in_s), 0);
	CHECK_ERR(tc_retrieve(core, "mem", &in_m), 0);
	CHECK_ERR(tc_create(core, "next", &out), 0);
	/* By open file description (no get_id). */
	CHECK_ERR(tc_retrieve_fd(core, in_s, 10, &fd), 0);
	CHECK_ERR(tc_preserve(core, out, fd, 1), -EBUSY);
	/* By inode (memfd). */
	CHECK_ERR(tc_retrieve_fd(core, in_m, 1, &m), 0);
	CHECK_ERR(tc_preserve(core, out, m, 2), -EBUSY);
	CHECK_ERR(tc_finish(core, in_m), 0);
	CHECK_ERR(tc_preserve(core, out, m, 2), 0);
	/* The other session is not finished yet. */
	CHECK_ERR(tc_preserve(core, out, fd, 1), -EBUSY);
	close(m);
	done(core);
	close(fd);
	return TEST_PASS;
}

/* The same after FINISH of the pipe session. */
static int test_retrieved_free_after_finish(void)
{
	struct luo_core *core = booted();
	struct luo_session *in, *out;
	char buf[8];
	int fd;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &in), 0);
	CHECK_ERR(tc_create(core, "next", &out), 0);
	CHECK_ERR(tc_retrieve_fd(core, in, 10, &fd), 0);
	CHECK_ERR(tc_preserve(core, out, fd, 1), -EBUSY);
	CHECK_ERR(tc_finish(core, in), 0);
	/* The retrieved fd is an ordinary file now. */
	CHECK_EQ(read(fd, buf, 5), 5);
	CHECK(!memcmp(buf, "pipe0", 5));
	CHECK_ERR(tc_preserve(core, out, fd, 1), 0);
	close(fd);
	done(core);
	return TEST_PASS;
}

/*
 * fuzz-core's finding (fuzz/corpus/fuzz-core/regress-double-preserve-
 * after-handover): a process that outlives the reboot still holds the
 * very description the new image inherited.  The old core let it be
 * preserved again in a new session while the incoming copy was not
 * retrieved; retrieving the copy then gave one description two live
 * holders, the table tracked only the outgoing one, and once that
 * session was closed the description could be preserved a third time
 * although the incoming session still held it, retrieved and
 * unfinished.  An incoming file holds its identity from the handover
 * until FINISH, retrieved or not.
 */
static int test_surviving_file_busy_until_finish(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *a, *b, *c;
	int p = tc_pipe(NULL), m = tc_memfd("kept"), fd;

	tc_handler_init(&th, "fake", TC_TAKE_FIFO, false);
	luo_memfd_handler_init(&memfd);
	CHECK(core && p >= 0 && m >= 0);
	CHECK_ERR(setup(core, NULL), 0);
	/* Create a session, preserve a pipe end (and a memfd), reboot. */
	CHECK_ERR(tc_create(core, "a", &a), 0);
	CHECK_ERR(tc_preserve(core, a, p, 1), 0);
	CHECK_ERR(tc_preserve(core, a, m, 2), 0);
	core = tc_reboot(core, 2, setup, NULL);
	CHECK(core);
	/* Retrieve the session; preserve the same pipe end in a new one. */
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	CHECK_ERR(tc_create(core, "b", &b), 0);
	CHECK_ERR(tc_preserve(core, b, p, 1), -EBUSY);
	CHECK_ERR(tc_preserve(core, b, m, 2), -EBUSY);
	/* Retrieve the file from the incoming session: the same one. */
	CHECK_ERR(tc_retrieve_fd(core, a, 1, &fd), 0);
	CHECK(tc_same_ofd(fd, p));
	CHECK_ERR(tc_preserve(core, b, p, 1), -EBUSY);
	CHECK_ERR(tc_preserve(core, b, fd, 1), -EBUSY);
	close(fd);
	/* Close a session, preserve the pipe end again. */
	luo_core_session_release(core, b);
	CHECK_ERR(tc_create(core, "c", &c), 0);
	CHECK_ERR(tc_preserve(core, c, p, 1), -EBUSY);
	CHECK_ERR(tc_preserve(core, c, m, 2), -EBUSY);
	/* FINISH lets go of both, the unretrieved memfd too. */
	CHECK_ERR(tc_finish(core, a), 0);
	CHECK_ERR(tc_preserve(core, c, p, 1), 0);
	CHECK_ERR(tc_preserve(core, c, m, 2), 0);
	luo_core_free(core);
	close(p);
	close(m);
	return TEST_PASS;
}

/*
 * A file reopened by its handler (file-v1: a new description) is held
 * under the new description once retrieved, and the old one, which the
 * new image no longer holds, is free.
 */
static int file_setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, luo_file_handler());
}

static int test_reopened_file_refiled(void)
{
	char path[] = "/tmp/luo-test-incoming-XXXXXX";
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *a, *b;
	int f = mkostemp(path, O_CLOEXEC), fd;

	CHECK(core && f >= 0);
	unlink(path);
	CHECK_ERR(file_setup(core, NULL), 0);
	CHECK_ERR(tc_create(core, "a", &a), 0);
	CHECK_ERR(tc_preserve(core, a, f, 1), 0);
	core = tc_reboot(core, 2, file_setup, NULL);
	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	CHECK_ERR(tc_create(core, "b", &b), 0);
	CHECK_ERR(tc_preserve(core, b, f, 1), -EBUSY);
	CHECK_ERR(tc_retrieve_fd(core, a, 1, &fd), 0);
	CHECK(!tc_same_ofd(fd, f));
	CHECK_ERR(tc_preserve(core, b, fd, 2), -EBUSY);
	CHECK_ERR(tc_preserve(core, b, f, 1), 0);
	CHECK_ERR(tc_finish(core, a), 0);
	CHECK_ERR(tc_preserve(core, b, fd, 2), 0);
	luo_core_free(core);
	close(fd);
	close(f);
	return TEST_PASS;
}

static int test_finish_order(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	long last_can = -1, first_fin = -1;
	uint64_t tags[NR_FILES * 2];
	int fd;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 11, &fd), 0);
	close(fd);
	tc_log_reset();
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_EQ(tc_log_tags(TC_CAN_FINISH, tags, NR_FILES * 2), NR_FILES);
	for (int i = 0; i < NR_FILES; i++)
		CHECK_EQ(tags[i], 1 + i);
	CHECK_EQ(tc_log_tags(TC_FINISH, tags, NR_FILES * 2), NR_FILES);
	for (int i = 0; i < NR_FILES; i++)
		CHECK_EQ(tags[i], NR_FILES - i);
	for (size_t i = 0; i < tc_nlog; i++) {
		if (tc_log[i].op == TC_CAN_FINISH)
			last_can = (long)i;
		if (tc_log[i].op == TC_FINISH && first_fin < 0)
			first_fin = (long)i;
	}
	CHECK(last_can < first_fin);
	/* Unretrieved files are discarded: finish with status 0. */
	for (size_t i = 0; i < tc_nlog; i++) {
		if (tc_log[i].op != TC_FINISH)
			continue;
		if (tc_log[i].tag == 2) {
			CHECK(tc_log[i].status > 0);
			CHECK(tc_log[i].retrieved_fd >= 0);
		} else {
			CHECK_EQ(tc_log[i].status, 0);
			CHECK_EQ(tc_log[i].retrieved_fd, -1);
		}
	}
	done(core);
	return TEST_PASS;
}

static int test_finish_ebusy_then_retry(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	uint64_t files;
	int fd;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	th.fail_at[TC_CAN_FINISH] = 3;
	CHECK_ERR(tc_finish(core, s), -EBUSY);
	CHECK_EQ(th.calls[TC_CAN_FINISH], 3);
	CHECK_EQ(th.calls[TC_FINISH], 0);
	/* Nothing changed: every file is still there and retrievable. */
	luo_core_counts(core, NULL, NULL, &files);
	CHECK_EQ(files, NR_FILES + 1);
	CHECK_ERR(tc_retrieve_fd(core, s, 13, &fd), 0);
	close(fd);
	tc_log_reset();
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_EQ(tc_log_count(TC_CAN_FINISH), NR_FILES);
	CHECK_EQ(tc_log_count(TC_FINISH), NR_FILES);
	luo_core_counts(core, NULL, NULL, &files);
	CHECK_EQ(files, 1);
	done(core);
	return TEST_PASS;
}

static int test_finish_idempotent(void)
{
	struct luo_core *core = booted();
	struct luo_session *s, *e;
	struct liveupdate_session_finish arg = { .size = 8, .reserved = 0xdead };
	struct luo_call call;
	int fd;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	CHECK_ERR(tc_retrieve(core, "empty", &e), 0);
	CHECK_ERR(tc_finish(core, e), 0);
	CHECK_ERR(tc_finish(core, e), 0);
	CHECK_EQ(th.calls[TC_CAN_FINISH], 0);
	/* reserved is not checked. */
	luo_call_init(&call, LIVEUPDATE_SESSION_FINISH, &arg, sizeof(arg), -1);
	CHECK_ERR(luo_core_session_ioctl(core, s, &call), 0);
	CHECK_EQ(call.copy_len, 8);
	CHECK_EQ(th.calls[TC_FINISH], NR_FILES);
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_EQ(th.calls[TC_CAN_FINISH], NR_FILES);
	CHECK_EQ(th.calls[TC_FINISH], NR_FILES);
	/* Finished: no file to retrieve, the session fd stays valid. */
	for (uint64_t t = 10; t < 10 + NR_FILES; t++)
		CHECK_ERR(tc_retrieve_fd(core, s, t, &fd), -ENOENT);
	CHECK_ERR(tc_retrieve(core, "s", NULL), -EINVAL);
	luo_core_session_release(core, s);
	CHECK_ERR(tc_retrieve(core, "s", NULL), -ENOENT);
	done(core);
	return TEST_PASS;
}

/* Closing an incoming session finishes it. */
static int test_release_implicit_finish(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	uint32_t in;
	int fd;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	CHECK_ERR(tc_retrieve_fd(core, s, 10, &fd), 0);
	tc_log_reset();
	luo_core_session_release(core, s);
	CHECK_EQ(tc_log_count(TC_CAN_FINISH), NR_FILES);
	CHECK_EQ(tc_log_count(TC_FINISH), NR_FILES);
	luo_core_counts(core, NULL, &in, NULL);
	CHECK_EQ(in, 2);
	CHECK_ERR(tc_retrieve(core, "s", NULL), -ENOENT);
	/* The retrieved fd outlives the session. */
	{
		char buf[8];

		CHECK_EQ(read(fd, buf, 5), 5);
		CHECK(!memcmp(buf, "pipe0", 5));
	}
	close(fd);
	done(core);
	return TEST_PASS;
}

/*
 * If can_finish refuses at the last close, the session stays, retrieved and
 * without an fd: it cannot be retrieved again.
 */
static int test_release_refused(void)
{
	struct luo_core *core = booted();
	struct luo_session *s;
	uint64_t files;
	uint32_t in;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "s", &s), 0);
	th.fail_all[TC_CAN_FINISH] = true;
	luo_core_session_release(core, s);
	CHECK_EQ(th.calls[TC_FINISH], 0);
	luo_core_counts(core, NULL, &in, &files);
	CHECK_EQ(in, 3);
	CHECK_EQ(files, NR_FILES + 1);
	CHECK_ERR(tc_retrieve(core, "s", NULL), -EINVAL);
	CHECK_ERR(tc_retrieve(core, "s", NULL), -EINVAL);
	/* Teardown still ends the files, LIFO, without asking. */
	tc_log_reset();
	done(core);
	CHECK_EQ(tc_log_count(TC_FINISH), NR_FILES);
	CHECK_EQ(tc_log_count(TC_CAN_FINISH), 0);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_direction),
	TEST_CASE(test_retrieve_fd),
	TEST_CASE(test_retrieve_shares_position),
	TEST_CASE(test_sticky_retrieve_error),
	TEST_CASE(test_retrieved_busy_until_finish),
	TEST_CASE(test_retrieved_free_after_finish),
	TEST_CASE(test_surviving_file_busy_until_finish),
	TEST_CASE(test_reopened_file_refiled),
	TEST_CASE(test_finish_order),
	TEST_CASE(test_finish_ebusy_then_retry),
	TEST_CASE(test_finish_idempotent),
	TEST_CASE(test_release_implicit_finish),
	TEST_CASE(test_release_refused),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
