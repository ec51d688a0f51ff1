// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who may do what (DESIGN.md section 7a), as the core's dispatch table
 * declares it: the administrator's requests (REBOOT, SET_EVENT) give
 * EPERM to anyone else, after the size checks of SPEC.md 2.1; each uid has
 * its own namespace of session names; LIST shows a non-administrator its
 * own sessions and the administrator everyone's with their owner, and
 * STATUS counts a non-administrator's own only; the
 * owner crosses the handover (an older handover without it means uid 0);
 * the per-user limits hold for parked and incoming sessions, through
 * HANDOVER and across a reboot; and a LIST page costs what it lists,
 * wherever it starts, also inside a session with many files (counted, not
 * timed), and when sessions or files go between pages.
 */
#include <libfdt.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "core_internal.h"
#include "tc.h"

#define ALICE	1000u
#define BOB	1001u
#define HDR_SIZE	16	/* magic, CRC, size: see src/core/handover.c */

static struct tc_handler th;
static int reboots;

static int fake_reboot(void *ctx, struct luo_reboot *arg, int exec_fd)
{
	reboots++;
	return 0;
}

static int kexecs, pool_files;

static int fake_kexec(void *ctx, struct luo_reboot_kexec *arg)
{
	kexecs++;
	return -EIO;
}

static int fake_pool_memfd(void *ctx, struct luo_pool_memfd *arg, uint32_t uid,
			   int *out_fd)
{
	pool_files++;
	*out_fd = tc_memfd("pool");
	return *out_fd < 0 ? -EIO : 0;
}

static struct luo_core *core_with(uint32_t sessions_per_user,
				  uint32_t files_per_user)
{
	struct luo_core_config cfg = {
		.max_sessions_per_user = sessions_per_user,
		.max_files_per_user = files_per_user,
		.host = {
			.reboot = fake_reboot, .reboot_kexec = fake_kexec,
			.pool_memfd = fake_pool_memfd,
		},
	};
	struct luo_core *core = luo_core_new(&cfg);

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	if (core && luo_register_file_handler(core, &th.h)) {
		luo_core_free(core);
		return NULL;
	}
	return core;
}

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &th.h);
}

static void as(struct luo_call *call, uint32_t uid)
{
	call->caller.uid = uid;
	call->caller.admin = uid == 0;
}

static int dev_as(struct luo_core *core, uint32_t uid, uint32_t cmd,
		  void *arg, uint32_t len, int fd)
{
	struct luo_call call;

	luo_call_init(&call, cmd, arg, len, fd);
	as(&call, uid);
	return luo_core_device_ioctl(core, &call);
}

static int named_as(struct luo_core *core, uint32_t uid, uint32_t cmd,
		    const char *name, struct luo_session **s)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };
	struct luo_call call;
	int ret;

	snprintf((char *)arg.name, sizeof(arg.name), "%s", name);
	luo_call_init(&call, cmd, &arg, sizeof(arg), -1);
	as(&call, uid);
	ret = luo_core_device_ioctl(core, &call);
	if (!ret && s)
		*s = call.out_session;
	return ret;
}

static int create_as(struct luo_core *core, uint32_t uid, const char *name,
		     struct luo_session **s)
{
	return named_as(core, uid, LIVEUPDATE_IOCTL_CREATE_SESSION, name, s);
}

static int retrieve_as(struct luo_core *core, uint32_t uid, const char *name,
		       struct luo_session **s)
{
	return named_as(core, uid, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, name, s);
}

/* Preserves a new memfd under @token; our copy is closed. */
static int preserve_new(struct luo_core *core, struct luo_session *s,
			uint64_t token)
{
	int fd = tc_memfd("owner"), ret;

	if (fd < 0)
		return -errno;
	ret = tc_preserve(core, s, fd, token);
	close(fd);
	return ret;
}

static int handover(struct luo_core *core, struct luo_session *s)
{
	struct luo_session_handover arg = { .size = sizeof(arg) };
	struct luo_call call;

	luo_call_init(&call, LUO_IOCTL_HANDOVER, &arg, sizeof(arg), -1);
	return luo_core_session_ioctl(core, s, &call);
}

static int set_event_as(struct luo_core *core, uint32_t uid, uint32_t event)
{
	struct luo_ioctl_set_event arg = { .size = sizeof(arg), .event = event };

	return dev_as(core, uid, LUO_IOCTL_SET_EVENT, &arg, sizeof(arg), -1);
}

static uint32_t state_of(struct luo_core *core)
{
	struct luo_ioctl_get_state arg = { .size = sizeof(arg) };

	if (dev_as(core, 0, LUO_IOCTL_GET_STATE, &arg, sizeof(arg), -1))
		return LIVEUPDATE_STATE_UNDEFINED;
	return arg.state;
}

/* One LIST page of at most @cap records into @rec. */
static int list_page(struct luo_core *core, uint32_t uid, struct luo_list *l,
		     struct luo_list_record *rec, uint32_t cap)
{
	struct luo_call call;

	luo_call_init(&call, LUO_IOCTL_LIST, l, sizeof(*l), -1);
	as(&call, uid);
	call.extra = rec;
	call.extra_cap = cap * sizeof(*rec);
	return luo_core_device_ioctl(core, &call);
}

/* The whole listing as @uid sees it: its session records, in order. */
static int list_all(struct luo_core *core, uint32_t uid,
		    struct luo_list_record *out, size_t max, size_t *n)
{
	struct luo_list_record page[LUO_LIST_PAGE_RECORDS];
	struct luo_list l = { .size = sizeof(l) };
	int ret, pages = 0;

	*n = 0;
	do {
		ret = list_page(core, uid, &l, page, 7);
		if (ret)
			return ret;
		for (uint32_t i = 0; i < l.nr_records; i++)
			if (page[i].type == LUO_LIST_SESSION && *n < max)
				out[(*n)++] = page[i];
		if (++pages > 100000)
			return -ELOOP;
	} while (!l.done);
	return 0;
}

/* ---- the administrator's requests --------------------------------------- */

static int test_reboot_is_admin_only(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_reboot rb = { .size = sizeof(rb) };
	uint8_t big[32] = { 0 };
	int exe;

	CHECK(core);
	reboots = 0;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT, &rb, sizeof(rb), -1),
		  -EPERM);
	/* An image to execute is no way around it. */
	exe = tc_memfd("image");
	CHECK(exe >= 0);
	rb.flags = LUO_REBOOT_EXEC_FD;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT, &rb, sizeof(rb), exe),
		  -EPERM);
	/* Nor unknown flags: the policy comes before the command's checks. */
	rb.flags = 0x80;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT, &rb, sizeof(rb), -1),
		  -EPERM);
	CHECK_EQ(reboots, 0);
	/* The size checks of SPEC.md 2.1 come first, in their order. */
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT, &rb, 2, -1), -EFAULT);
	CHECK_ERR(dev_as(core, ALICE, _IO('x', LUO_CMD_REBOOT), &rb, sizeof(rb),
			 -1), -ENOTTY);
	rb.size = 8;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT, &rb, sizeof(rb), -1),
		  -EINVAL);
	memcpy(big, &(uint32_t){ sizeof(big) }, 4);
	big[20] = 1;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT, big, sizeof(big), -1),
		  -E2BIG);
	/* The administrator's goes through, with and without an image. */
	rb.size = sizeof(rb);
	rb.flags = 0;
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_REBOOT, &rb, sizeof(rb), -1), 0);
	rb.flags = LUO_REBOOT_EXEC_FD;
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_REBOOT, &rb, sizeof(rb), exe), 0);
	CHECK_EQ(reboots, 2);
	close(exe);
	luo_core_free(core);
	return TEST_PASS;
}

/* REBOOT_KEXEC is root's as REBOOT is; POOL_MEMFD anyone's. */
static int test_kexec_is_admin_only(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_reboot_kexec k = { .size = sizeof(k) };
	struct luo_pool_memfd pm = { .size = sizeof(pm) };
	struct luo_call call;

	CHECK(core);
	kexecs = pool_files = 0;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT_KEXEC, &k, sizeof(k),
			 -1), -EPERM);
	/* Unknown flags and bad strings are the command's own checks. */
	k.flags = 0x80;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_REBOOT_KEXEC, &k, sizeof(k),
			 -1), -EPERM);
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_REBOOT_KEXEC, &k, sizeof(k), -1),
		  -EOPNOTSUPP);
	k.flags = LUO_KEXEC_NO_INITRD;
	k.initrd[0] = 'x';
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_REBOOT_KEXEC, &k, sizeof(k), -1),
		  -EINVAL);
	k.initrd[0] = 0;
	memset(k.kernel, 'a', sizeof(k.kernel));
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_REBOOT_KEXEC, &k, sizeof(k), -1),
		  -EINVAL);
	CHECK_EQ(kexecs, 0);
	memset(k.kernel, 0, sizeof(k.kernel));
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_REBOOT_KEXEC, &k, sizeof(k), -1),
		  -EIO);
	CHECK_EQ(kexecs, 1);

	luo_call_init(&call, LUO_IOCTL_POOL_MEMFD, &pm, sizeof(pm), -1);
	as(&call, ALICE);
	CHECK_EQ(luo_core_device_ioctl(core, &call), 0);
	CHECK(call.out_fd >= 0);
	close(call.out_fd);
	CHECK_EQ(pool_files, 1);
	pm.reserved = 1;
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_POOL_MEMFD, &pm, sizeof(pm),
			 -1), -EINVAL);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_set_event_is_admin_only(void)
{
	struct luo_core *core = core_with(0, 0), *next;
	struct luo_ioctl_set_event ev = { .size = 4 };
	struct luo_session *s;

	CHECK(core);
	CHECK_ERR(set_event_as(core, ALICE, LIVEUPDATE_PREPARE), -EPERM);
	CHECK_EQ(state_of(core), LIVEUPDATE_STATE_NORMAL);
	/* A short struct is EINVAL before the caller is asked about. */
	CHECK_ERR(dev_as(core, ALICE, LUO_IOCTL_SET_EVENT, &ev, sizeof(ev), -1),
		  -EINVAL);
	CHECK_ERR(set_event_as(core, 0, LIVEUPDATE_PREPARE), 0);
	CHECK_ERR(set_event_as(core, ALICE, LIVEUPDATE_CANCEL), -EPERM);
	CHECK_EQ(state_of(core), LIVEUPDATE_STATE_PREPARED);
	CHECK_ERR(set_event_as(core, 0, LIVEUPDATE_CANCEL), 0);

	/* A global FINISH would discard everyone's unretrieved sessions. */
	CHECK_ERR(create_as(core, ALICE, "vm1", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	next = tc_reboot(core, 2, setup, NULL);
	CHECK(next);
	CHECK_EQ(state_of(next), LIVEUPDATE_STATE_UPDATED);
	CHECK_ERR(set_event_as(next, BOB, LIVEUPDATE_FINISH), -EPERM);
	CHECK_EQ(state_of(next), LIVEUPDATE_STATE_UPDATED);
	CHECK_ERR(retrieve_as(next, ALICE, "vm1", &s), 0);
	CHECK_EQ(s->nr_files, 1);
	luo_core_session_release(next, s);
	luo_core_free(next);
	return TEST_PASS;
}

static int test_control_fd_policy(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_status st = { .size = sizeof(st) };
	struct liveupdate_ioctl_create_session cs = { .size = sizeof(cs) };
	struct luo_call call;
	int fd = tc_memfd("x");

	CHECK(core && fd >= 0);
	cs.name[0] = 'x';
	luo_call_init(&call, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs, sizeof(cs), -1);
	call.caller.kind = LUO_CALLER_CONTROL;
	CHECK_ERR(luo_core_device_ioctl(core, &call), -EPERM);
	luo_call_init(&call, LUO_IOCTL_STATUS, &st, sizeof(st), -1);
	call.caller.kind = LUO_CALLER_CONTROL;
	CHECK_ERR(luo_core_device_ioctl(core, &call), 0);
	/* Only PRESERVE_FD and REBOOT carry an fd. */
	CHECK_ERR(dev_as(core, 0, LUO_IOCTL_STATUS, &st, sizeof(st), fd),
		  -EINVAL);
	CHECK_ERR(dev_as(core, 0, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs,
			 sizeof(cs), fd), -EINVAL);
	CHECK(luo_core_makes_session(LIVEUPDATE_IOCTL_CREATE_SESSION));
	CHECK(luo_core_makes_session(LIVEUPDATE_IOCTL_RETRIEVE_SESSION));
	CHECK(!luo_core_makes_session(LUO_IOCTL_STATUS));
	close(fd);
	luo_core_free(core);
	return TEST_PASS;
}

/* ---- namespaces, LIST and STATUS --------------------------------------- */

static int status_as(struct luo_core *core, uint32_t uid, struct luo_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return dev_as(core, uid, LUO_IOCTL_STATUS, st, sizeof(*st), -1);
}

static int test_namespaces(void)
{
	struct luo_core *core = core_with(0, 0), *next;
	struct luo_session *a, *b, *r, *s;

	CHECK(core);
	CHECK_ERR(create_as(core, ALICE, "vm1", &a), 0);
	/* Bob's "vm1" is his own: no EEXIST telling him Alice has one. */
	CHECK_ERR(create_as(core, BOB, "vm1", &b), 0);
	CHECK_ERR(create_as(core, 0, "vm1", &r), 0);
	CHECK_ERR(create_as(core, ALICE, "vm1", NULL), -EEXIST);
	CHECK_EQ(luo_session_owner(a), ALICE);
	CHECK_EQ(luo_session_owner(b), BOB);
	CHECK_EQ(luo_session_owner(r), 0);
	CHECK_ERR(preserve_new(core, a, 1), 0);
	CHECK_ERR(preserve_new(core, b, 2), 0);
	CHECK_ERR(preserve_new(core, b, 3), 0);
	/* A HANDOVER checks the owner's incoming names only. */
	CHECK_ERR(handover(core, a), 0);
	CHECK_ERR(handover(core, b), 0);
	CHECK_ERR(retrieve_as(core, 0, "vm1", NULL), -ENOENT);
	CHECK_ERR(retrieve_as(core, BOB, "vm1", &s), 0);
	CHECK(s == b);
	luo_core_session_release(core, s);
	/* Alice's parked "vm1" does not cross a REBOOT; a new one does. */
	CHECK_ERR(create_as(core, ALICE, "vm1", &a), 0);
	CHECK_ERR(preserve_new(core, a, 4), 0);

	next = tc_reboot(core, 2, setup, NULL);
	CHECK(next);
	/* Root retrieves in its own namespace too. */
	CHECK_ERR(retrieve_as(next, 0, "vm1", &s), 0);
	CHECK_EQ(luo_session_owner(s), 0);
	CHECK_EQ(s->nr_files, 0);
	luo_core_session_release(next, s);
	CHECK_ERR(retrieve_as(next, BOB, "vm1", NULL), -ENOENT);
	CHECK_ERR(retrieve_as(next, 1002, "vm1", NULL), -ENOENT);
	CHECK_ERR(retrieve_as(next, ALICE, "vm1", &s), 0);
	CHECK_EQ(luo_session_owner(s), ALICE);
	CHECK_EQ(s->nr_files, 1);
	luo_core_session_release(next, s);
	luo_core_free(next);
	return TEST_PASS;
}

static int test_list_filtered_by_owner(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_list_record rec[8];
	struct luo_session *s;
	size_t n;

	CHECK(core);
	CHECK_ERR(create_as(core, ALICE, "a1", &s), 0);
	CHECK_ERR(preserve_new(core, s, 7), 0);
	CHECK_ERR(create_as(core, BOB, "b1", NULL), 0);
	CHECK_ERR(create_as(core, ALICE, "a2", NULL), 0);
	CHECK_ERR(create_as(core, 0, "r1", NULL), 0);

	CHECK_ERR(list_all(core, ALICE, rec, 8, &n), 0);
	CHECK_EQ(n, 2);
	CHECK(!strcmp(rec[0].name, "a1") && !strcmp(rec[1].name, "a2"));
	CHECK_EQ(rec[0].owner, ALICE);
	CHECK_EQ(rec[0].nr_files, 1);
	CHECK_ERR(list_all(core, BOB, rec, 8, &n), 0);
	CHECK_EQ(n, 1);
	CHECK(!strcmp(rec[0].name, "b1"));
	CHECK_ERR(list_all(core, 1002, rec, 8, &n), 0);
	CHECK_EQ(n, 0);
	/* The administrator sees everyone's, with the owner. */
	CHECK_ERR(list_all(core, 0, rec, 8, &n), 0);
	CHECK_EQ(n, 4);
	CHECK(!strcmp(rec[1].name, "b1"));
	CHECK_EQ(rec[1].owner, BOB);
	CHECK_EQ(rec[3].owner, 0);
	/* STATUS counts a user's own: it does not tell others' exist. */
	CHECK_ERR(handover(core, s), 0);
	{
		struct luo_status st;

		CHECK_ERR(status_as(core, ALICE, &st), 0);
		CHECK_EQ(st.nr_outgoing, 1);
		CHECK_EQ(st.nr_incoming, 1);
		CHECK_EQ(st.nr_files, 1);
		CHECK_ERR(status_as(core, BOB, &st), 0);
		CHECK_EQ(st.nr_outgoing, 1);
		CHECK_EQ(st.nr_incoming, 0);
		CHECK_EQ(st.nr_files, 0);
		CHECK_ERR(status_as(core, 1002, &st), 0);
		CHECK_EQ(st.nr_outgoing + st.nr_incoming, 0);
		CHECK_ERR(status_as(core, 0, &st), 0);
		CHECK_EQ(st.nr_outgoing, 3);
		CHECK_EQ(st.nr_incoming, 1);
		CHECK_EQ(st.nr_files, 1);
	}
	luo_core_free(core);
	return TEST_PASS;
}

/* ---- the owner across the handover -------------------------------------- */

static int test_owner_in_handover(void)
{
	struct luo_core *core = core_with(0, 0), *next;
	struct luo_handover_info info;
	struct luo_session *s;
	char why[256];
	uint32_t crc;
	void *blob;
	size_t len;
	int lfd, node;

	CHECK(core);
	CHECK_ERR(create_as(core, BOB, "old", &s), 0);
	CHECK_ERR(tc_exec(core, 2, &blob, &len, &lfd), 0);
	/* What an older image wrote: no owner property. */
	node = fdt_path_offset((uint8_t *)blob + HDR_SIZE, "/sessions/session@0");
	CHECK(node >= 0);
	CHECK(fdt_getprop((uint8_t *)blob + HDR_SIZE, node, "owner", NULL));
	CHECK_EQ(fdt_delprop((uint8_t *)blob + HDR_SIZE, node, "owner"), 0);
	crc = (uint32_t)crc32(0, (uint8_t *)blob + HDR_SIZE,
			      (uInt)(len - HDR_SIZE));
	memcpy((uint8_t *)blob + 8, &crc, sizeof(crc));
	next = core_with(0, 0);
	CHECK(next);
	CHECK_ERR(luo_handover_read(next, blob, len, &info, why, sizeof(why)), 0);
	CHECK_ERR(retrieve_as(next, BOB, "old", NULL), -ENOENT);
	CHECK_ERR(retrieve_as(next, 0, "old", &s), 0);
	CHECK_EQ(luo_session_owner(s), 0);
	luo_core_session_release(next, s);
	luo_core_free(next);
	free(blob);
	close(lfd);
	return TEST_PASS;
}

/* ---- limits ------------------------------------------------------------- */

/* The reproduction of issue 8 item 10: create, preserve, HANDOVER, repeat. */
static int test_limits_hold_through_handover(void)
{
	struct luo_core *core = core_with(8, 32);
	struct luo_session *s;
	char name[16];

	CHECK(core);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		CHECK_ERR(create_as(core, ALICE, name, &s), 0);
		for (uint64_t t = 0; t < 4; t++)
			CHECK_ERR(preserve_new(core, s, t), 0);
		CHECK_ERR(handover(core, s), 0);
		/* The session fd is detached: nothing releases it. */
	}
	CHECK_ERR(create_as(core, ALICE, "s8", NULL), -ENOSPC);
	/* Another user has its own allowance. */
	CHECK_ERR(create_as(core, BOB, "s8", &s), 0);
	luo_core_session_release(core, s);
	/* A parked session that really goes gives its share back. */
	CHECK_ERR(retrieve_as(core, ALICE, "s3", &s), 0);
	CHECK_ERR(tc_finish(core, s), 0);
	luo_core_session_release(core, s);
	CHECK_ERR(create_as(core, ALICE, "s8", &s), 0);
	for (uint64_t t = 0; t < 4; t++)
		CHECK_ERR(preserve_new(core, s, t), 0);
	CHECK_ERR(preserve_new(core, s, 4), -ENOSPC);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_file_limit_counts_parked_files(void)
{
	struct luo_core *core = core_with(100, 6);
	struct luo_session *s, *p;

	CHECK(core);
	CHECK_ERR(create_as(core, ALICE, "p", &p), 0);
	for (uint64_t t = 0; t < 3; t++)
		CHECK_ERR(preserve_new(core, p, t), 0);
	CHECK_ERR(handover(core, p), 0);
	CHECK_ERR(create_as(core, ALICE, "q", &s), 0);
	for (uint64_t t = 0; t < 3; t++)
		CHECK_ERR(preserve_new(core, s, t), 0);
	CHECK_ERR(preserve_new(core, s, 9), -ENOSPC);
	/* The session's owner is charged, whoever holds its fd. */
	CHECK_EQ(luo_owner_find(core, ALICE)->nr_files, 6);
	/* UNPRESERVE gives one back. */
	{
		struct luo_session_unpreserve_fd arg = {
			.size = sizeof(arg), .token = 0,
		};
		struct luo_call call;

		luo_call_init(&call, LUO_SESSION_UNPRESERVE_FD, &arg,
			      sizeof(arg), -1);
		CHECK_ERR(luo_core_session_ioctl(core, s, &call), 0);
	}
	CHECK_ERR(preserve_new(core, s, 9), 0);
	CHECK_ERR(preserve_new(core, s, 10), -ENOSPC);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_limits_hold_across_reboot(void)
{
	struct luo_core *core = core_with(2, 0), *next;
	struct luo_handover_info info;
	struct luo_session *s;
	char why[256];
	void *blob;
	size_t len;
	int lfd;

	CHECK(core);
	CHECK_ERR(create_as(core, ALICE, "a", &s), 0);
	CHECK_ERR(preserve_new(core, s, 1), 0);
	CHECK_ERR(create_as(core, ALICE, "b", NULL), 0);
	CHECK_ERR(create_as(core, ALICE, "c", NULL), -ENOSPC);
	CHECK_ERR(tc_exec(core, 2, &blob, &len, &lfd), 0);
	next = core_with(2, 0);
	CHECK(next);
	CHECK_ERR(luo_handover_read(next, blob, len, &info, why, sizeof(why)), 0);
	free(blob);
	close(lfd);
	/* Incoming sessions are Alice's and count toward her limit. */
	CHECK_ERR(create_as(next, ALICE, "c", NULL), -ENOSPC);
	CHECK_ERR(retrieve_as(next, ALICE, "a", &s), 0);
	CHECK_EQ(luo_session_owner(s), ALICE);
	CHECK_ERR(create_as(next, ALICE, "c", NULL), -ENOSPC);
	CHECK_ERR(tc_finish(next, s), 0);
	luo_core_session_release(next, s);
	CHECK_ERR(create_as(next, ALICE, "c", NULL), 0);
	luo_core_free(next);
	return TEST_PASS;
}

static int test_per_connection_room(void)
{
	struct liveupdate_ioctl_create_session cs = { .size = sizeof(cs) };
	struct luo_core *core = core_with(0, 0);
	struct luo_call call;

	CHECK(core);
	cs.name[0] = 'x';
	luo_call_init(&call, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs, sizeof(cs), -1);
	call.caller.session_room = 0;
	CHECK_ERR(luo_core_device_ioctl(core, &call), -ENOSPC);
	luo_core_free(core);
	return TEST_PASS;
}

/* ---- LIST's cost -------------------------------------------------------- */

#define MANY	3000

/* The most LIST work one page of @cap records did, paging from the start. */
static int max_page_cost(struct luo_core *core, uint32_t uid, uint32_t cap,
			 uint64_t *worst, uint32_t *records)
{
	struct luo_list_record page[LUO_LIST_PAGE_RECORDS];
	struct luo_list l = { .size = sizeof(l) };
	int ret;

	*worst = 0;
	*records = 0;
	do {
		uint64_t before = core->list_steps;

		ret = list_page(core, uid, &l, page, cap);
		if (ret)
			return ret;
		if (core->list_steps - before > *worst)
			*worst = core->list_steps - before;
		*records += l.nr_records;
	} while (!l.done);
	return 0;
}

static int test_list_page_cost_independent_of_position(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_session *s;
	uint32_t records;
	uint64_t worst;
	char name[16];

	CHECK(core);
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		CHECK_ERR(create_as(core, 0, name, &s), 0);
		if (i % 2)
			CHECK_ERR(handover(core, s), 0);
	}
	CHECK_ERR(create_as(core, ALICE, "mine", NULL), 0);
	/*
	 * 16 records a page: a page visits its 16 sessions plus one tree
	 * descent, however far into the listing it starts.  Walking from
	 * the head cost up to MANY.
	 */
	CHECK_ERR(max_page_cost(core, 0, 16, &worst, &records), 0);
	CHECK_EQ(records, MANY + 1);
	fprintf(stderr, "admin: at most %llu steps for a 16-record page\n",
		(unsigned long long)worst);
	CHECK(worst <= 16 + 1 + 64);
	/* A user's listing costs its own sessions only. */
	CHECK_ERR(max_page_cost(core, ALICE, 16, &worst, &records), 0);
	CHECK_EQ(records, 1);
	CHECK(worst <= 3);
	luo_core_free(core);
	return TEST_PASS;
}

/* A page that starts inside a session does not walk its earlier files. */
static int test_list_page_cost_inside_a_session(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_list_record page[16];
	struct luo_list l = { .size = sizeof(l) };
	struct luo_session *s;
	uint32_t records;
	uint64_t worst;

	CHECK(core);
	CHECK_ERR(create_as(core, 0, "big", &s), 0);
	for (uint64_t t = 0; t < 600; t++)
		CHECK_ERR(preserve_new(core, s, t), 0);
	CHECK_ERR(max_page_cost(core, 0, 16, &worst, &records), 0);
	CHECK_EQ(records, 601);
	fprintf(stderr, "600 files: at most %llu steps for a 16-record page\n",
		(unsigned long long)worst);
	CHECK(worst <= 16 + 1 + 64);
	/* The file under the cursor goes: the next page starts after it. */
	CHECK_ERR(list_page(core, 0, &l, page, 16), 0);
	CHECK_EQ(page[15].token, 14);
	{
		struct luo_session_unpreserve_fd arg = {
			.size = sizeof(arg), .token = 15,
		};
		struct luo_call call;

		luo_call_init(&call, LUO_SESSION_UNPRESERVE_FD, &arg,
			      sizeof(arg), -1);
		CHECK_ERR(luo_core_session_ioctl(core, s, &call), 0);
	}
	CHECK_ERR(list_page(core, 0, &l, page, 16), 0);
	CHECK_EQ(page[0].type, LUO_LIST_FILE);
	CHECK_EQ(page[0].token, 16);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_list_survives_changes_between_pages(void)
{
	struct luo_core *core = core_with(0, 0);
	struct luo_list_record page[4], all[600];
	struct luo_list l = { .size = sizeof(l) };
	struct luo_session *s[500];
	char name[16];
	size_t n;

	CHECK(core);
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		CHECK_ERR(create_as(core, 0, name, &s[i]), 0);
	}
	/* The tree stays ordered through removals anywhere. */
	for (int i = 0; i < 500; i += 3)
		luo_core_session_release(core, s[i]);
	CHECK_ERR(list_all(core, 0, all, 600, &n), 0);
	CHECK_EQ(n, 500 - 167);
	for (size_t i = 0; i < n; i++) {
		int want = (int)(i / 2) * 3 + 1 + (int)(i % 2);

		snprintf(name, sizeof(name), "s%d", want);
		CHECK(!strcmp(all[i].name, name));
	}
	/* The session under the cursor goes: the next page starts after it. */
	CHECK_ERR(list_page(core, 0, &l, page, 3), 0);
	CHECK(!strcmp(page[2].name, "s4"));
	luo_core_session_release(core, s[5]);
	CHECK_ERR(list_page(core, 0, &l, page, 3), 0);
	CHECK_EQ(l.nr_records, 3);
	CHECK(!strcmp(page[0].name, "s7"));
	/* A session created meanwhile comes at the end; the listing ends. */
	CHECK_ERR(create_as(core, 0, "late", NULL), 0);
	for (int pages = 0; !l.done; pages++) {
		CHECK(pages < 1000);
		CHECK_ERR(list_page(core, 0, &l, page, 4), 0);
	}
	CHECK(!strcmp(page[l.nr_records - 1].name, "late"));
	luo_core_free(core);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_reboot_is_admin_only),
	TEST_CASE(test_kexec_is_admin_only),
	TEST_CASE(test_set_event_is_admin_only),
	TEST_CASE(test_control_fd_policy),
	TEST_CASE(test_namespaces),
	TEST_CASE(test_list_filtered_by_owner),
	TEST_CASE(test_owner_in_handover),
	TEST_CASE(test_limits_hold_through_handover),
	TEST_CASE(test_file_limit_counts_parked_files),
	TEST_CASE(test_limits_hold_across_reboot),
	TEST_CASE(test_per_connection_room),
	TEST_CASE(test_list_page_cost_independent_of_position),
	TEST_CASE(test_list_page_cost_inside_a_session),
	TEST_CASE(test_list_survives_changes_between_pages),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
