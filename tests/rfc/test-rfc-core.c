// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RFC global state machine in the core (SPEC.md 9.2, DESIGN.md 6),
 * in-process: every transition and errno of GET_STATE and SET_EVENT, the
 * sealed outgoing set of PREPARED, FROZEN during a reboot and the automatic
 * cancel of a failed one, UPDATED after a reboot and its two ways back to
 * NORMAL, the global FINISH, and the session extension UNPRESERVE_FD.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "tc.h"

static struct tc_handler th;

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &th.h);
}

static struct luo_core *fresh(void)
{
	struct luo_core *core = tc_core(0, 0);

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	if (core && setup(core, NULL)) {
		luo_core_free(core);
		return NULL;
	}
	return core;
}

static int device_call(struct luo_core *core, uint32_t cmd, void *arg,
		       uint32_t len)
{
	struct luo_call call;

	luo_call_init(&call, cmd, arg, len, -1);
	return luo_core_device_ioctl(core, &call);
}

/* The state, or a negative errno. */
static int state(struct luo_core *core)
{
	struct luo_ioctl_get_state gs = { .size = sizeof(gs), .state = 99 };
	int ret = device_call(core, LUO_IOCTL_GET_STATE, &gs, sizeof(gs));

	return ret ? ret : (int)gs.state;
}

static int event(struct luo_core *core, uint32_t ev)
{
	struct luo_ioctl_set_event se = { .size = sizeof(se), .event = ev };

	return device_call(core, LUO_IOCTL_SET_EVENT, &se, sizeof(se));
}

static int unpreserve(struct luo_core *core, struct luo_session *s,
		      uint64_t token)
{
	struct luo_session_unpreserve_fd up = {
		.size = sizeof(up),
		.token = token,
	};
	struct luo_call call;

	luo_call_init(&call, LUO_SESSION_UNPRESERVE_FD, &up, sizeof(up), -1);
	return luo_core_session_ioctl(core, s, &call);
}

/* A new eventfd preserved under @token. */
static int preserve_new(struct luo_core *core, struct luo_session *s,
			uint64_t token)
{
	int fd = tc_eventfd(), ret;

	if (fd < 0)
		return -errno;
	ret = tc_preserve(core, s, fd, token);
	close(fd);
	return ret;
}

/* Sessions "a", "b", "c" of 1, 2 and 1 files (tokens 1, 2 3, 4), rebooted. */
static struct luo_core *updated(void)
{
	struct luo_core *core = fresh();
	struct luo_session *a, *b, *c;

	if (!core || tc_create(core, "a", &a) || tc_create(core, "b", &b) ||
	    tc_create(core, "c", &c) || preserve_new(core, a, 1) ||
	    preserve_new(core, b, 2) || preserve_new(core, b, 3) ||
	    preserve_new(core, c, 4))
		return NULL;
	return tc_reboot(core, 2, setup, NULL);
}

static int test_initial_normal(void)
{
	struct luo_core *core = fresh();

	CHECK(core);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_bad_events(void)
{
	struct luo_core *core = fresh();
	const uint32_t bad[] = { LIVEUPDATE_FREEZE, 4, 0x80, UINT32_MAX };

	CHECK(core);
	for (size_t i = 0; i < TC_ARRAY_SIZE(bad); i++)
		CHECK_ERR(event(core, bad[i]), -EINVAL);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	for (size_t i = 0; i < TC_ARRAY_SIZE(bad); i++)
		CHECK_ERR(event(core, bad[i]), -EINVAL);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_PREPARED);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_prepare_cancel(void)
{
	struct luo_core *core = fresh();

	CHECK(core);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EINVAL);
	CHECK_ERR(event(core, LIVEUPDATE_CANCEL), -EINVAL);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_PREPARED);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), -EINVAL);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EINVAL);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_PREPARED);
	CHECK_ERR(event(core, LIVEUPDATE_CANCEL), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	CHECK_ERR(event(core, LIVEUPDATE_CANCEL), -EINVAL);
	luo_core_free(core);
	return TEST_PASS;
}

/* PREPARED: no new session, no new preserve, no unpreserve; CANCEL keeps
 * every token. */
static int test_prepared_seals(void)
{
	struct luo_core *core = fresh();
	uint8_t empty[64] = { 0 };
	struct luo_session *s, *t = NULL, *in = NULL;
	char name[64];

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	CHECK_ERR(tc_create(core, "t", &t), -EBUSY);
	CHECK_ERR(tc_create_raw(core, empty, &t), -EBUSY);
	CHECK_ERR(tc_create(core, "s", &t), -EBUSY);
	CHECK_ERR(preserve_new(core, s, 2), -EBUSY);
	CHECK_ERR(preserve_new(core, s, 1), -EBUSY);
	CHECK_ERR(unpreserve(core, s, 1), -EBUSY);
	CHECK_ERR(unpreserve(core, s, 77), -EBUSY);
	/* The rest of the session ABI still answers. */
	CHECK_ERR(tc_retrieve(core, "s", &in), -ENOENT);
	CHECK_ERR(tc_get_name(core, s, name), 0);
	CHECK(!t && !in);
	CHECK_ERR(event(core, LIVEUPDATE_CANCEL), 0);
	CHECK_ERR(preserve_new(core, s, 1), -EEXIST);
	CHECK_ERR(preserve_new(core, s, 2), 0);
	CHECK_ERR(tc_create(core, "t", &t), 0);
	CHECK_EQ(th.calls[TC_UNPRESERVE], 0);
	luo_core_free(core);
	return TEST_PASS;
}

/* Closing a session fd cannot fail: in PREPARED it still unpreserves. */
static int test_close_in_prepared(void)
{
	struct luo_core *core = fresh();
	struct luo_session *s;
	uint32_t out;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	luo_core_session_release(core, s);
	CHECK_EQ(th.calls[TC_UNPRESERVE], 1);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_PREPARED);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_frozen(void)
{
	struct luo_core *core = fresh();
	struct luo_session *s, *t = NULL;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(preserve_new(core, s, 2), 0);
	/* From NORMAL a reboot does not move the state. */
	CHECK_ERR(luo_core_freeze(core), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	luo_core_unfreeze(core);
	/* From PREPARED: FROZEN; a failed exec undoes it to NORMAL. */
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	CHECK_ERR(luo_core_freeze(core), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_FROZEN);
	CHECK_ERR(tc_create(core, "t", &t), -EBUSY);
	CHECK_ERR(preserve_new(core, s, 3), -EBUSY);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), -EINVAL);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EINVAL);
	luo_core_unfreeze(core);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	/* CANCEL from FROZEN unfreezes every file. */
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	CHECK_ERR(luo_core_freeze(core), 0);
	th.calls[TC_UNFREEZE] = 0;
	CHECK_ERR(event(core, LIVEUPDATE_CANCEL), 0);
	CHECK_EQ(th.calls[TC_UNFREEZE], 2);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	luo_core_unfreeze(core);
	CHECK_EQ(th.calls[TC_UNFREEZE], 2);
	CHECK_ERR(preserve_new(core, s, 1), -EEXIST);
	luo_core_free(core);
	return TEST_PASS;
}

/* A failed FREEZE callback cancels: NORMAL, tokens valid. */
static int test_freeze_fail_cancels(void)
{
	struct luo_core *core = fresh();
	struct luo_session *s;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(preserve_new(core, s, 2), 0);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	th.fail_at[TC_FREEZE] = 2;
	th.fail_errno[TC_FREEZE] = EIO;
	CHECK_ERR(luo_core_freeze(core), -EIO);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	CHECK_ERR(preserve_new(core, s, 2), -EEXIST);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_reboot_states(void)
{
	struct luo_core *core = fresh(), *next;
	struct luo_session *s;

	/* Nothing handed over: NORMAL, even from PREPARED. */
	CHECK(core);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	next = tc_reboot(core, 2, setup, NULL);
	CHECK(next);
	CHECK_EQ(state(next), LIVEUPDATE_STATE_NORMAL);
	/* One empty session: UPDATED (a reboot from NORMAL carries it too). */
	CHECK_ERR(tc_create(next, "empty", &s), 0);
	core = tc_reboot(next, 3, setup, NULL);
	CHECK(core);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	CHECK_ERR(tc_retrieve(core, "empty", &s), 0);
	CHECK_ERR(tc_finish(core, s), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	luo_core_session_release(core, s);
	luo_core_free(core);
	return TEST_PASS;
}

/* UPDATED: no PREPARE or CANCEL, no unpreserve; the session ABI works. */
static int test_updated_rules(void)
{
	struct luo_core *core = updated();
	struct luo_session *out;

	CHECK(core);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), -EINVAL);
	CHECK_ERR(event(core, LIVEUPDATE_CANCEL), -EINVAL);
	CHECK_ERR(tc_create(core, "new", &out), 0);
	CHECK_ERR(preserve_new(core, out, 9), 0);
	CHECK_ERR(unpreserve(core, out, 9), -EBUSY);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	luo_core_free(core);
	return TEST_PASS;
}

/* UPDATED turns NORMAL when the last incoming session is finished or
 * closed, whichever way. */
static int test_updated_to_normal(void)
{
	struct luo_core *core = updated();
	struct luo_session *a, *b, *c;
	int fd = -1;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	CHECK_ERR(tc_retrieve(core, "b", &b), 0);
	CHECK_ERR(tc_retrieve(core, "c", &c), 0);
	CHECK_ERR(tc_retrieve_fd(core, a, 1, &fd), 0);
	close(fd);
	CHECK_ERR(tc_finish(core, a), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	luo_core_session_release(core, b);	/* implicit finish */
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	CHECK_ERR(tc_finish(core, c), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EINVAL);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	luo_core_session_release(core, a);
	luo_core_session_release(core, c);
	luo_core_free(core);
	return TEST_PASS;
}

/* The global FINISH: unretrieved sessions and files discarded, retrieved
 * fds kept, held sessions stay (finished) until closed. */
static int test_global_finish(void)
{
	struct luo_core *core = updated();
	struct luo_session *a, *c, *x;
	uint32_t in;
	uint64_t files;
	int fd = -1, fd2 = -1;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	CHECK_ERR(tc_retrieve(core, "c", &c), 0);
	CHECK_ERR(tc_retrieve_fd(core, a, 1, &fd), 0);
	th.calls[TC_FINISH] = 0;
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), 0);
	CHECK_EQ(th.calls[TC_FINISH], 4);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_NORMAL);
	luo_core_counts(core, NULL, &in, &files);
	CHECK_EQ(in, 2);
	CHECK_EQ(files, 0);
	CHECK_ERR(tc_retrieve(core, "b", &x), -ENOENT);
	CHECK_ERR(tc_retrieve_fd(core, c, 4, &fd2), -ENOENT);
	CHECK_ERR(tc_retrieve_fd(core, a, 1, &fd2), -ENOENT);
	CHECK_ERR(tc_finish(core, a), 0);
	CHECK(fcntl(fd, F_GETFD) >= 0);
	close(fd);
	luo_core_session_release(core, a);
	luo_core_session_release(core, c);
	luo_core_counts(core, NULL, &in, NULL);
	CHECK_EQ(in, 0);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EINVAL);
	luo_core_free(core);
	return TEST_PASS;
}

/* A handler that cannot finish yet: EBUSY and nothing changed. */
static int test_global_finish_busy(void)
{
	struct luo_core *core = updated();
	uint64_t files;
	uint32_t in;

	CHECK(core);
	th.fail_at[TC_CAN_FINISH] = 3;
	th.calls[TC_CAN_FINISH] = 0;
	th.calls[TC_FINISH] = 0;
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EBUSY);
	CHECK_EQ(th.calls[TC_FINISH], 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	luo_core_counts(core, NULL, &in, &files);
	CHECK_EQ(in, 3);
	CHECK_EQ(files, 4);
	th.fail_at[TC_CAN_FINISH] = 0;
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), 0);
	luo_core_counts(core, NULL, &in, &files);
	CHECK_EQ(in, 0);
	CHECK_EQ(files, 0);
	luo_core_free(core);
	return TEST_PASS;
}

/* A session closed while its finish was refused is held by no fd: the
 * global FINISH ends it entirely. */
static int test_global_finish_released(void)
{
	struct luo_core *core = updated();
	struct luo_session *a;
	uint32_t in;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	th.fail_all[TC_CAN_FINISH] = true;
	luo_core_session_release(core, a);
	th.fail_all[TC_CAN_FINISH] = false;
	luo_core_counts(core, NULL, &in, NULL);
	CHECK_EQ(in, 3);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_UPDATED);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), 0);
	luo_core_counts(core, NULL, &in, NULL);
	CHECK_EQ(in, 0);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_unpreserve(void)
{
	struct luo_core *core = fresh();
	struct luo_session_unpreserve_fd up;
	struct luo_session *s;
	struct luo_call call;
	uint8_t big[32] = { 0 };
	uint64_t files;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(preserve_new(core, s, 2), 0);
	CHECK_ERR(unpreserve(core, s, 3), -ENOENT);
	/* Size rules: short, a non-zero reserved word, non-zero tail. */
	up = (struct luo_session_unpreserve_fd){ .size = 12, .token = 1 };
	luo_call_init(&call, LUO_SESSION_UNPRESERVE_FD, &up, sizeof(up), -1);
	CHECK_ERR(luo_core_session_ioctl(core, s, &call), -EINVAL);
	up = (struct luo_session_unpreserve_fd){ .size = 16, .reserved = 1,
						 .token = 1 };
	luo_call_init(&call, LUO_SESSION_UNPRESERVE_FD, &up, sizeof(up), -1);
	CHECK_ERR(luo_core_session_ioctl(core, s, &call), -EINVAL);
	up = (struct luo_session_unpreserve_fd){ .size = 32, .token = 1 };
	memcpy(big, &up, sizeof(up));
	big[31] = 1;
	luo_call_init(&call, LUO_SESSION_UNPRESERVE_FD, big, sizeof(big), -1);
	CHECK_ERR(luo_core_session_ioctl(core, s, &call), -E2BIG);
	CHECK_EQ(th.calls[TC_UNPRESERVE], 0);
	/* The first file goes, the second stays; its token is free again. */
	CHECK_ERR(unpreserve(core, s, 1), 0);
	CHECK_EQ(th.calls[TC_UNPRESERVE], 1);
	CHECK_ERR(unpreserve(core, s, 1), -ENOENT);
	luo_core_counts(core, NULL, NULL, &files);
	CHECK_EQ(files, 1);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(preserve_new(core, s, 2), -EEXIST);
	luo_core_free(core);
	return TEST_PASS;
}

/* The same file can be preserved again once unpreserved (no EBUSY). */
static int test_unpreserve_frees_file(void)
{
	struct luo_core *core = fresh();
	struct luo_session *s;
	int fd = tc_eventfd();

	CHECK(core && fd >= 0);
	CHECK_ERR(tc_create(core, "s", &s), 0);
	CHECK_ERR(tc_preserve(core, s, fd, 1), 0);
	CHECK_ERR(tc_preserve(core, s, fd, 2), -EBUSY);
	CHECK_ERR(unpreserve(core, s, 1), 0);
	CHECK_ERR(tc_preserve(core, s, fd, 2), 0);
	close(fd);
	luo_core_free(core);
	return TEST_PASS;
}

/* Only on outgoing sessions. */
static int test_unpreserve_incoming(void)
{
	struct luo_core *core = updated();
	struct luo_session *a;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "a", &a), 0);
	CHECK_ERR(unpreserve(core, a, 1), -EINVAL);
	CHECK_ERR(unpreserve(core, a, 99), -EINVAL);
	luo_core_session_release(core, a);
	luo_core_free(core);
	return TEST_PASS;
}

/* GET_STATE and SET_EVENT follow the dispatch rules of every request. */
static int test_struct_rules(void)
{
	struct luo_core *core = fresh();
	uint32_t buf[4] = { 0 };

	CHECK(core);
	buf[0] = 4;
	CHECK_ERR(device_call(core, LUO_IOCTL_GET_STATE, buf, 16), -EINVAL);
	CHECK_ERR(device_call(core, LUO_IOCTL_SET_EVENT, buf, 16), -EINVAL);
	buf[0] = 16;
	buf[3] = 1;
	CHECK_ERR(device_call(core, LUO_IOCTL_GET_STATE, buf, 16), -E2BIG);
	CHECK_ERR(device_call(core, LUO_IOCTL_SET_EVENT, buf, 16), -E2BIG);
	CHECK_ERR(device_call(core, _IOW(0xBA, LUO_CMD_GET_STATE, int), buf, 16),
		  -ENOTTY);
	/* A larger struct: the state copied back, the tail untouched. */
	buf[1] = 99;
	buf[3] = 0;
	CHECK_ERR(device_call(core, LUO_IOCTL_GET_STATE, buf, 16), 0);
	CHECK_EQ(buf[0], 16);
	CHECK_EQ(buf[1], LIVEUPDATE_STATE_NORMAL);
	CHECK_EQ(buf[2], 0);
	buf[1] = LIVEUPDATE_PREPARE;
	CHECK_ERR(device_call(core, LUO_IOCTL_SET_EVENT, buf, 16), 0);
	CHECK_EQ(state(core), LIVEUPDATE_STATE_PREPARED);
	luo_core_free(core);
	return TEST_PASS;
}

static char last_log[512];

static void log_cb(void *ctx, int level, const char *msg)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static int test_log_message(void)
{
	struct luo_core_config cfg = { .host = { .log = log_cb } };
	struct luo_core *core = luo_core_new(&cfg);

	CHECK(core);
	CHECK_ERR(event(core, LIVEUPDATE_FINISH), -EINVAL);
	CHECK(!strcmp(last_log, "Can't switch to [normal] from [normal]"));
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), 0);
	CHECK_ERR(event(core, LIVEUPDATE_PREPARE), -EINVAL);
	CHECK(!strcmp(last_log, "Can't switch to [prepared] from [prepared]"));
	luo_core_free(core);
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_initial_normal),
		TEST_CASE(test_bad_events),
		TEST_CASE(test_prepare_cancel),
		TEST_CASE(test_prepared_seals),
		TEST_CASE(test_close_in_prepared),
		TEST_CASE(test_frozen),
		TEST_CASE(test_freeze_fail_cancels),
		TEST_CASE(test_reboot_states),
		TEST_CASE(test_updated_rules),
		TEST_CASE(test_updated_to_normal),
		TEST_CASE(test_global_finish),
		TEST_CASE(test_global_finish_busy),
		TEST_CASE(test_global_finish_released),
		TEST_CASE(test_unpreserve),
		TEST_CASE(test_unpreserve_frees_file),
		TEST_CASE(test_unpreserve_incoming),
		TEST_CASE(test_struct_rules),
		TEST_CASE(test_log_message),
	};

	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
