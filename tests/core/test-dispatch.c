// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ioctl dispatch (SPEC.md 2.1, 2.2, 11): number range, size word,
 * command word, direction, size, trailing bytes, copy-back, and the order
 * of these checks against each other.
 */
#include <sys/ioctl.h>
#include <unistd.h>

#include "luo_wire.h"
#include "tc.h"

struct fixture {
	struct luo_core *core;
	struct tc_handler th;
	struct luo_session *out;
	struct luo_session *in;
};

static int in_setup(struct luo_core *core, void *ctx)
{
	struct fixture *fx = ctx;

	return luo_register_file_handler(core, &fx->th.h);
}

/* An outgoing session "out" and an incoming, retrieved session "in". */
static int fixture_init(struct fixture *fx)
{
	struct luo_core *old = tc_core(0, 0);
	struct luo_session *s;

	memset(fx, 0, sizeof(*fx));
	tc_handler_init(&fx->th, "fake", TC_TAKE_ALL, false);
	if (!old || luo_register_file_handler(old, &fx->th.h) ||
	    tc_create(old, "in", &s))
		return -1;
	fx->core = tc_reboot(old, 2, in_setup, fx);
	if (!fx->core || tc_retrieve(fx->core, "in", &fx->in) ||
	    tc_create(fx->core, "out", &fx->out))
		return -1;
	tc_log_reset();
	return 0;
}

static void fixture_fini(struct fixture *fx)
{
	luo_core_free(fx->core);
}

static int dev(struct luo_core *core, uint32_t cmd, void *arg, uint32_t len,
	       struct luo_call *call)
{
	luo_call_init(call, cmd, arg, len, -1);
	return luo_core_device_ioctl(core, call);
}

static int ses(struct luo_core *core, struct luo_session *s, uint32_t cmd,
	       void *arg, uint32_t len, int fd, struct luo_call *call)
{
	luo_call_init(call, cmd, arg, len, fd);
	return luo_core_session_ioctl(core, s, call);
}

/* A full-size, valid create argument in a larger, zeroed buffer. */
static void create_arg(uint8_t *buf, size_t len, uint32_t size,
		       const char *name)
{
	struct liveupdate_ioctl_create_session *a = (void *)buf;

	memset(buf, 0, len);
	a->size = size;
	strcpy((char *)a->name, name);
}

static int test_device_nr_outside_table(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint8_t buf[256];
	struct luo_call call;
	uint32_t nrs[] = { 0x02, 0x03, 0x10, 0x3f, 0x40, 0x41, 0x42, 0x43,
			   0x44, 0x7f, 0x89, 0xc0, 0xfe, 0xff };
	uint32_t types[] = { 0xBA, 0x00, 0x12, 0xBB, 0xFF };

	CHECK(core);
	for (size_t t = 0; t < TC_ARRAY_SIZE(types); t++) {
		for (size_t i = 0; i < TC_ARRAY_SIZE(nrs); i++) {
			create_arg(buf, sizeof(buf), 72, "x");
			CHECK_ERR(dev(core, _IO(types[t], nrs[i]), buf,
				      sizeof(buf), &call), -EINVAL);
			/* Before the size word is read: no EFAULT. */
			CHECK_ERR(dev(core, _IO(types[t], nrs[i]), NULL, 0,
				      &call), -EINVAL);
			/* Direction/size bits do not change the range rule. */
			CHECK_ERR(dev(core, _IOC(_IOC_READ | _IOC_WRITE,
						 types[t], nrs[i], 72),
				      buf, sizeof(buf), &call), -EINVAL);
		}
	}
	{
		uint32_t n;

		luo_core_counts(core, &n, NULL, NULL);
		CHECK_EQ(n, 0);
	}
	luo_core_free(core);
	return TEST_PASS;
}

static int test_session_nr_outside_table(void)
{
	struct fixture fx;
	uint8_t buf[256] = { 0 };
	struct luo_call call;
	uint32_t nrs[] = { 0x00, 0x01, 0x02, 0x20, 0x3f, 0x44, 0x45, 0x7f,
			   0x83, 0x84, 0xff };
	struct luo_session *ss[2];

	CHECK(!fixture_init(&fx));
	ss[0] = fx.out;
	ss[1] = fx.in;
	*(uint32_t *)buf = 72;
	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; i < TC_ARRAY_SIZE(nrs); i++) {
			CHECK_ERR(ses(fx.core, ss[s], _IO(0xBA, nrs[i]), buf,
				      sizeof(buf), -1, &call), -EINVAL);
			CHECK_ERR(ses(fx.core, ss[s], _IO(0x33, nrs[i]), NULL,
				      0, -1, &call), -EINVAL);
		}
		/* CREATE and RETRIEVE on a session fd. */
		CHECK_ERR(ses(fx.core, ss[s], LIVEUPDATE_IOCTL_CREATE_SESSION,
			      buf, sizeof(buf), -1, &call), -EINVAL);
		CHECK_ERR(ses(fx.core, ss[s], LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
			      buf, sizeof(buf), -1, &call), -EINVAL);
	}
	fixture_fini(&fx);
	return TEST_PASS;
}

static int test_enotty(void)
{
	struct fixture fx;
	uint8_t buf[256];
	struct liveupdate_session_preserve_fd *p = (void *)buf;
	struct luo_call call;
	int fd = tc_pipe(NULL);
	uint32_t n;

	CHECK(fd >= 0);
	CHECK(!fixture_init(&fx));
	/* Another type byte, nr 0 in range: the full word differs. */
	create_arg(buf, sizeof(buf), 72, "a");
	CHECK_ERR(dev(fx.core, _IO(0x12, 0), buf, sizeof(buf), &call), -ENOTTY);
	CHECK_ERR(dev(fx.core, _IO(0xBB, 1), buf, sizeof(buf), &call), -ENOTTY);
	CHECK_ERR(dev(fx.core, _IOWR(0xBA, 0,
				     struct liveupdate_ioctl_create_session),
		      buf, sizeof(buf), &call), -ENOTTY);
	CHECK_ERR(dev(fx.core, _IOW(0xBA, 1,
				    struct liveupdate_ioctl_retrieve_session),
		      buf, sizeof(buf), &call), -ENOTTY);
	CHECK_ERR(dev(fx.core, 0xffff0000u | LIVEUPDATE_IOCTL_CREATE_SESSION,
		      buf, sizeof(buf), &call), -ENOTTY);
	CHECK_ERR(dev(fx.core, _IOWR(0xBA, LUO_CMD_STATUS, struct luo_status),
		      buf, sizeof(buf), &call), -ENOTTY);
	luo_core_counts(fx.core, &n, NULL, NULL);
	CHECK_EQ(n, 1);		/* nothing was created */

	memset(buf, 0, sizeof(buf));
	p->size = sizeof(*p);
	p->fd = fd;
	CHECK_ERR(ses(fx.core, fx.out, _IOWR(0xBA, 0x40,
					     struct liveupdate_session_preserve_fd),
		      buf, sizeof(buf), fd, &call), -ENOTTY);
	CHECK_ERR(ses(fx.core, fx.out, _IO(0x00, 0x43), buf, sizeof(buf), -1,
		      &call), -ENOTTY);
	CHECK_ERR(ses(fx.core, fx.in, _IO(0xBB, 0x42), buf, sizeof(buf), -1,
		      &call), -ENOTTY);
	CHECK_EQ(fx.th.calls[TC_PRESERVE], 0);
	CHECK_EQ(fx.th.calls[TC_CAN_FINISH], 0);
	fixture_fini(&fx);
	close(fd);
	return TEST_PASS;
}

/* The size word is read before the command word is compared. */
static int test_efault_short_arg(void)
{
	struct fixture fx;
	uint8_t buf[8] = { 72, 0, 0, 0 };
	struct luo_call call;

	CHECK(!fixture_init(&fx));
	for (uint32_t len = 0; len < 4; len++) {
		CHECK_ERR(dev(fx.core, LIVEUPDATE_IOCTL_CREATE_SESSION,
			      len ? buf : NULL, len, &call), -EFAULT);
		CHECK_ERR(dev(fx.core, _IO(0x12, 0), buf, len, &call), -EFAULT);
		CHECK_ERR(dev(fx.core, LUO_IOCTL_STATUS, buf, len, &call),
			  -EFAULT);
		CHECK_ERR(ses(fx.core, fx.out, LIVEUPDATE_SESSION_GET_NAME,
			      buf, len, -1, &call), -EFAULT);
		/* Before the direction check too. */
		CHECK_ERR(ses(fx.core, fx.out, LIVEUPDATE_SESSION_FINISH,
			      buf, len, -1, &call), -EFAULT);
		CHECK_ERR(ses(fx.core, fx.in, _IOWR(0xBA, 0x40, uint64_t),
			      buf, len, -1, &call), -EFAULT);
	}
	fixture_fini(&fx);
	return TEST_PASS;
}

static int test_short_size_einval(void)
{
	struct fixture fx;
	uint8_t buf[256];
	struct luo_call call;
	struct {
		uint32_t cmd, min;
		bool incoming;
	} ses_cmds[] = {
		{ LIVEUPDATE_SESSION_PRESERVE_FD, 16, false },
		{ LIVEUPDATE_SESSION_RETRIEVE_FD, 16, true },
		{ LIVEUPDATE_SESSION_FINISH, 8, true },
		{ LIVEUPDATE_SESSION_GET_NAME, 72, false },
		{ LIVEUPDATE_SESSION_GET_NAME, 72, true },
	};
	uint32_t n;

	CHECK(!fixture_init(&fx));
	for (uint32_t size = 0; size < 72; size++) {
		create_arg(buf, sizeof(buf), size, "short");
		CHECK_ERR(dev(fx.core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
			      sizeof(buf), &call), -EINVAL);
		CHECK_ERR(dev(fx.core, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, buf,
			      sizeof(buf), &call), -EINVAL);
		CHECK_EQ(call.copy_len, 0);
	}
	for (size_t i = 0; i < TC_ARRAY_SIZE(ses_cmds); i++) {
		for (uint32_t size = 0; size < ses_cmds[i].min; size++) {
			memset(buf, 0, sizeof(buf));
			*(uint32_t *)buf = size;
			CHECK_ERR(ses(fx.core, ses_cmds[i].incoming ? fx.in :
				      fx.out, ses_cmds[i].cmd, buf, sizeof(buf),
				      -1, &call), -EINVAL);
		}
	}
	/*
	 * STATUS grew after its first version: its minimum is that first
	 * version (up to @version), so older callers keep working.
	 */
	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = offsetof(struct luo_status, version) +
			   LUO_VERSION_LENGTH - 1;
	CHECK_ERR(dev(fx.core, LUO_IOCTL_STATUS, buf, sizeof(buf), &call),
		  -EINVAL);
	*(uint32_t *)buf += 1;
	CHECK_ERR(dev(fx.core, LUO_IOCTL_STATUS, buf, sizeof(buf), &call), 0);
	CHECK_EQ(call.copy_len, offsetof(struct luo_status, version) +
				LUO_VERSION_LENGTH);
	luo_core_counts(fx.core, &n, NULL, NULL);
	CHECK_EQ(n, 1);
	CHECK_EQ(fx.th.calls[TC_CAN_FINISH], 0);
	fixture_fini(&fx);
	return TEST_PASS;
}

/*
 * A larger struct whose extra bytes are zero is fine; exactly
 * min(size, struct size) bytes are copied back and the rest of the caller's
 * buffer is left alone.
 */
static int test_oversized_zero_trailing(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint8_t buf[256], name[64];
	struct liveupdate_ioctl_create_session *a = (void *)buf;
	struct luo_session *s;
	struct luo_call call;

	CHECK(core);
	create_arg(buf, sizeof(buf), 128, "big");
	a->fd = 77;
	memset(buf + 128, 0x5a, sizeof(buf) - 128);	/* beyond size */
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, sizeof(buf),
		      &call), 0);
	CHECK_EQ(call.copy_len, 72);
	CHECK(call.out_session);
	CHECK_EQ(a->size, 128);
	CHECK_EQ(a->fd, -1);	/* the transport fills in the real fd */
	CHECK(!strcmp((char *)a->name, "big"));
	for (size_t i = 72; i < 128; i++)
		CHECK_EQ(buf[i], 0);
	for (size_t i = 128; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0x5a);
	s = call.out_session;

	/* Exactly the struct size. */
	create_arg(buf, sizeof(buf), 72, "exact");
	memset(buf + 72, 0x5a, sizeof(buf) - 72);
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, 72, &call), 0);
	CHECK_EQ(call.copy_len, 72);

	/* Session commands: GET_NAME at 200 bytes. */
	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = 200;
	memset(buf + 200, 0xc3, sizeof(buf) - 200);
	CHECK_ERR(ses(core, s, LIVEUPDATE_SESSION_GET_NAME, buf, sizeof(buf),
		      -1, &call), 0);
	CHECK_EQ(call.copy_len, 72);
	CHECK(!strcmp((char *)buf + 8, "big"));
	CHECK_EQ(*(uint32_t *)buf, 200);
	for (size_t i = 72; i < 200; i++)
		CHECK_EQ(buf[i], 0);
	for (size_t i = 200; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0xc3);
	CHECK_ERR(tc_get_name(core, s, (char *)name), 0);
	CHECK(!strcmp((char *)name, "big"));
	luo_core_free(core);
	return TEST_PASS;
}

static int test_e2big(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint8_t buf[256];
	struct luo_call call;
	size_t offs[] = { 72, 73, 100, 127 };
	struct luo_session *s;
	uint32_t n;

	CHECK(core);
	for (size_t i = 0; i < TC_ARRAY_SIZE(offs); i++) {
		create_arg(buf, sizeof(buf), 128, "e2big");
		buf[offs[i]] = 1;
		CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
			      sizeof(buf), &call), -E2BIG);
		CHECK_EQ(call.copy_len, 0);
		CHECK_EQ(((struct liveupdate_ioctl_create_session *)buf)->fd, 0);
	}
	luo_core_counts(core, &n, NULL, NULL);
	CHECK_EQ(n, 0);
	/* A non-zero byte just past size is not looked at. */
	create_arg(buf, sizeof(buf), 128, "e2big");
	buf[128] = 1;
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, sizeof(buf),
		      &call), 0);
	s = call.out_session;
	/* Session commands too. */
	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = 80;
	buf[79] = 0xff;
	CHECK_ERR(ses(core, s, LIVEUPDATE_SESSION_GET_NAME, buf, sizeof(buf),
		      -1, &call), -E2BIG);
	/* An EINVAL size beats E2BIG: nothing past a short size is checked. */
	create_arg(buf, sizeof(buf), 8, "e2big");
	memset(buf + 8, 0xff, sizeof(buf) - 8);
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, sizeof(buf),
		      &call), -EINVAL);
	/* ENOTTY beats E2BIG. */
	create_arg(buf, sizeof(buf), 128, "e2big2");
	buf[100] = 1;
	CHECK_ERR(dev(core, _IO(0x11, 0), buf, sizeof(buf), &call), -ENOTTY);
	luo_core_free(core);
	return TEST_PASS;
}

/* A size beyond the bytes available is a fault, unless the wire capped it. */
static int test_size_beyond_arg(void)
{
	struct luo_core *core = tc_core(0, 0);
	static uint8_t buf[LUO_WIRE_MAX_ARG + 64];
	struct liveupdate_ioctl_create_session *a = (void *)buf;
	struct luo_call call;
	uint32_t n;

	CHECK(core);
	create_arg(buf, sizeof(buf), 128, "far");
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, 100, &call),
		  -EFAULT);
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, 71, &call),
		  -EFAULT);
	a->size = LUO_WIRE_MAX_ARG;
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
		      LUO_WIRE_MAX_ARG - 1, &call), -EFAULT);
	a->size = LUO_WIRE_MAX_ARG + 1;
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
		      LUO_WIRE_MAX_ARG - 1, &call), -EFAULT);
	luo_core_counts(core, &n, NULL, NULL);
	CHECK_EQ(n, 0);

	/* Past LUO_WIRE_MAX_ARG the client checked the rest: accepted. */
	a->size = LUO_WIRE_MAX_ARG + 1;
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
		      LUO_WIRE_MAX_ARG, &call), 0);
	CHECK_EQ(call.copy_len, 72);
	CHECK_EQ(a->size, LUO_WIRE_MAX_ARG + 1);
	create_arg(buf, sizeof(buf), UINT32_MAX, "huge");
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
		      LUO_WIRE_MAX_ARG, &call), 0);
	CHECK_EQ(call.copy_len, 72);
	/* Still checked for zero up to LUO_WIRE_MAX_ARG. */
	create_arg(buf, sizeof(buf), UINT32_MAX, "huge2");
	buf[LUO_WIRE_MAX_ARG - 1] = 1;
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
		      LUO_WIRE_MAX_ARG, &call), -E2BIG);
	/* Exactly LUO_WIRE_MAX_ARG bytes of size in LUO_WIRE_MAX_ARG: fine. */
	create_arg(buf, sizeof(buf), LUO_WIRE_MAX_ARG, "edge");
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf,
		      LUO_WIRE_MAX_ARG, &call), 0);
	luo_core_counts(core, &n, NULL, NULL);
	CHECK_EQ(n, 3);
	luo_core_free(core);
	return TEST_PASS;
}

/*
 * The direction check comes after the command word and before the size and
 * the copy-in: a wrong-direction request with a bad size, non-zero trailing
 * bytes or a short buffer still gets EINVAL.
 */
static int test_direction_order(void)
{
	struct fixture fx;
	uint8_t buf[256] = { 0 };
	struct luo_call call;
	int fd = tc_pipe(NULL);

	CHECK(fd >= 0);
	CHECK(!fixture_init(&fx));
	/* PRESERVE on incoming, valid otherwise. */
	*(uint32_t *)buf = 16;
	*(int32_t *)(buf + 4) = fd;
	CHECK_ERR(ses(fx.core, fx.in, LIVEUPDATE_SESSION_PRESERVE_FD, buf, 16,
		      fd, &call), -EINVAL);
	/* Non-zero trailing bytes: EINVAL, not E2BIG. */
	*(uint32_t *)buf = 64;
	buf[40] = 1;
	CHECK_ERR(ses(fx.core, fx.in, LIVEUPDATE_SESSION_PRESERVE_FD, buf,
		      sizeof(buf), fd, &call), -EINVAL);
	CHECK_ERR(ses(fx.core, fx.out, LIVEUPDATE_SESSION_FINISH, buf,
		      sizeof(buf), -1, &call), -EINVAL);
	CHECK_ERR(ses(fx.core, fx.out, LIVEUPDATE_SESSION_RETRIEVE_FD, buf,
		      sizeof(buf), -1, &call), -EINVAL);
	/* Size beyond the buffer: EINVAL, not EFAULT. */
	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = 1000;
	CHECK_ERR(ses(fx.core, fx.in, LIVEUPDATE_SESSION_PRESERVE_FD, buf, 16,
		      fd, &call), -EINVAL);
	CHECK_ERR(ses(fx.core, fx.out, LIVEUPDATE_SESSION_FINISH, buf, 8, -1,
		      &call), -EINVAL);
	/* The same requests with the right direction show the later errors. */
	*(uint32_t *)buf = 64;
	buf[40] = 1;
	CHECK_ERR(ses(fx.core, fx.in, LIVEUPDATE_SESSION_FINISH, buf,
		      sizeof(buf), -1, &call), -E2BIG);
	*(uint32_t *)buf = 1000;
	CHECK_ERR(ses(fx.core, fx.in, LIVEUPDATE_SESSION_FINISH, buf, 8, -1,
		      &call), -EFAULT);
	/* ENOTTY beats the direction. */
	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = 16;
	CHECK_ERR(ses(fx.core, fx.in, _IOWR(0xBA, 0x40,
					    struct liveupdate_session_preserve_fd),
		      buf, 16, fd, &call), -ENOTTY);
	CHECK_ERR(ses(fx.core, fx.out, _IO(0xBC, 0x42), buf, 16, -1, &call),
		  -ENOTTY);
	CHECK_EQ(fx.th.calls[TC_PRESERVE], 0);
	CHECK_EQ(fx.th.calls[TC_CAN_FINISH], 0);
	CHECK_EQ(fx.th.calls[TC_RETRIEVE], 0);
	fixture_fini(&fx);
	close(fd);
	return TEST_PASS;
}

/* No copy-back when the command fails. */
static int test_no_copy_back_on_error(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint8_t buf[72];
	struct liveupdate_ioctl_create_session *a = (void *)buf;
	struct luo_call call;

	CHECK(core);
	CHECK_ERR(tc_create(core, "dup", NULL), 0);
	create_arg(buf, sizeof(buf), 72, "dup");
	a->fd = 4242;
	CHECK_ERR(dev(core, LIVEUPDATE_IOCTL_CREATE_SESSION, buf, sizeof(buf),
		      &call), -EEXIST);
	CHECK_EQ(call.copy_len, 0);
	CHECK_EQ(a->fd, 4242);
	CHECK(!call.out_session);
	CHECK_EQ(call.out_fd, -1);
	luo_core_free(core);
	return TEST_PASS;
}

/* luo's own device requests use the same rules and numbers 0x80+. */
static int test_ext_dispatch(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint8_t buf[256] = { 0 };
	struct luo_reboot *r = (void *)buf;
	struct luo_call call;

	CHECK(core);
	*(uint32_t *)buf = sizeof(struct luo_status) + 8;
	CHECK_ERR(dev(core, LUO_IOCTL_STATUS, buf, sizeof(buf), &call), 0);
	CHECK_EQ(call.copy_len, sizeof(struct luo_status));
	buf[sizeof(struct luo_status) + 3] = 1;
	CHECK_ERR(dev(core, LUO_IOCTL_STATUS, buf, sizeof(buf), &call), -E2BIG);
	/* REBOOT without a host: EOPNOTSUPP; unknown flags the same. */
	memset(buf, 0, sizeof(buf));
	r->size = sizeof(*r);
	CHECK_ERR(dev(core, LUO_IOCTL_REBOOT, buf, sizeof(buf), &call),
		  -EOPNOTSUPP);
	r->flags = 2;
	CHECK_ERR(dev(core, LUO_IOCTL_REBOOT, buf, sizeof(buf), &call),
		  -EOPNOTSUPP);
	r->flags = LUO_REBOOT_EXEC_FD;
	CHECK_ERR(dev(core, LUO_IOCTL_REBOOT, buf, sizeof(buf), &call), -EBADF);
	luo_core_free(core);
	return TEST_PASS;
}

static int host_reboot_calls;

static int host_reboot(void *ctx, struct luo_reboot *arg, int exec_fd)
{
	host_reboot_calls++;
	arg->update_number = 99;
	return exec_fd >= 0 ? LUO_CALL_DEFERRED : 0;
}

static int test_ext_reboot_host(void)
{
	struct luo_core_config cfg = { .host.reboot = host_reboot };
	struct luo_core *core = luo_core_new(&cfg);
	struct luo_reboot r = { .size = sizeof(r) };
	struct luo_call call;
	int fd = tc_pipe(NULL);

	CHECK(core && fd >= 0);
	host_reboot_calls = 0;
	CHECK_ERR(dev(core, LUO_IOCTL_REBOOT, &r, sizeof(r), &call), 0);
	CHECK_EQ(r.update_number, 99);
	CHECK_EQ(call.copy_len, sizeof(r));
	/* An fd without the flag. */
	luo_call_init(&call, LUO_IOCTL_REBOOT, &r, sizeof(r), fd);
	CHECK_ERR(luo_core_device_ioctl(core, &call), -EINVAL);
	r.flags = LUO_REBOOT_EXEC_FD;
	luo_call_init(&call, LUO_IOCTL_REBOOT, &r, sizeof(r), fd);
	CHECK_ERR(luo_core_device_ioctl(core, &call), LUO_CALL_DEFERRED);
	CHECK_EQ(host_reboot_calls, 2);
	luo_core_free(core);
	close(fd);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_device_nr_outside_table),
	TEST_CASE(test_session_nr_outside_table),
	TEST_CASE(test_enotty),
	TEST_CASE(test_efault_short_arg),
	TEST_CASE(test_short_size_einval),
	TEST_CASE(test_oversized_zero_trailing),
	TEST_CASE(test_e2big),
	TEST_CASE(test_size_beyond_arg),
	TEST_CASE(test_direction_order),
	TEST_CASE(test_no_copy_back_on_error),
	TEST_CASE(test_ext_dispatch),
	TEST_CASE(test_ext_reboot_host),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
