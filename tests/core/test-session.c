// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sessions (SPEC.md 3.1-3.5, 11): names, duplicates, the two namespaces,
 * retrieval once per boot, limits, release, GET_NAME.
 */
#include <stdlib.h>
#include <unistd.h>

#include "tc.h"

static struct tc_handler th;

static int setup(struct luo_core *core, void *ctx)
{
	return luo_register_file_handler(core, &th.h);
}

/* A core whose incoming sessions are @names (NULL-terminated). */
static struct luo_core *with_incoming(const char *const *names)
{
	struct luo_core *old = tc_core(0, 0);

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	if (!old || luo_register_file_handler(old, &th.h))
		return NULL;
	for (; *names; names++)
		if (tc_create(old, *names, NULL))
			return NULL;
	return tc_reboot(old, 2, setup, NULL);
}

static int get_name_raw(struct luo_core *core, struct luo_session *s,
			uint32_t reserved, uint8_t name[64])
{
	struct liveupdate_session_get_name arg = {
		.size = sizeof(arg), .reserved = reserved,
	};
	struct luo_call call;
	int ret;

	memset(arg.name, 0xee, sizeof(arg.name));
	luo_call_init(&call, LIVEUPDATE_SESSION_GET_NAME, &arg, sizeof(arg), -1);
	ret = luo_core_session_ioctl(core, s, &call);
	memcpy(name, arg.name, sizeof(arg.name));
	return ret;
}

static int test_create_and_get_name(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *s;
	uint8_t name[64];
	uint32_t out, in;

	CHECK(core);
	CHECK_ERR(tc_create(core, "vm-1", &s), 0);
	CHECK(!luo_session_is_incoming(s));
	CHECK(!strcmp(luo_session_name(s), "vm-1"));
	CHECK_ERR(get_name_raw(core, s, 0, name), 0);
	CHECK(!strcmp((char *)name, "vm-1"));
	for (size_t i = strlen("vm-1"); i < sizeof(name); i++)
		CHECK_EQ(name[i], 0);
	luo_core_counts(core, &out, &in, NULL);
	CHECK_EQ(out, 1);
	CHECK_EQ(in, 0);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_duplicate_eexist(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *a, *b;
	uint32_t out;

	CHECK(core);
	CHECK_ERR(tc_create(core, "same", &a), 0);
	CHECK_ERR(tc_create(core, "same", &b), -EEXIST);
	CHECK_ERR(tc_create(core, "same", NULL), -EEXIST);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 1);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_name_rules(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint8_t raw[64], name[64];
	struct luo_session *s;
	uint32_t out;

	CHECK(core);
	/* Empty. */
	memset(raw, 0, sizeof(raw));
	CHECK_ERR(tc_create_raw(core, raw, NULL), -EINVAL);
	/* Empty, with bytes after the NUL. */
	memset(raw, 'x', sizeof(raw));
	raw[0] = 0;
	CHECK_ERR(tc_create_raw(core, raw, NULL), -EINVAL);
	/* 64 bytes without a NUL. */
	memset(raw, 'n', sizeof(raw));
	CHECK_ERR(tc_create_raw(core, raw, NULL), -EINVAL);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 0);
	/* 63 characters: the longest name. */
	raw[63] = 0;
	CHECK_ERR(tc_create_raw(core, raw, &s), 0);
	CHECK_ERR(get_name_raw(core, s, 0, name), 0);
	CHECK(!memcmp(name, raw, 64));
	/* Bytes after the first NUL are ignored. */
	memset(raw, 0x7f, sizeof(raw));
	memcpy(raw, "abc", 4);
	CHECK_ERR(tc_create_raw(core, raw, &s), 0);
	CHECK(!strcmp(luo_session_name(s), "abc"));
	CHECK_ERR(get_name_raw(core, s, 0, name), 0);
	CHECK(!strcmp((char *)name, "abc"));
	for (size_t i = 3; i < sizeof(name); i++)
		CHECK_EQ(name[i], 0);
	memset(raw + 4, 0x01, sizeof(raw) - 4);
	CHECK_ERR(tc_create_raw(core, raw, NULL), -EEXIST);
	CHECK_ERR(tc_create(core, "abc", NULL), -EEXIST);
	/* Case-sensitive, exact. */
	CHECK_ERR(tc_create(core, "ABC", NULL), 0);
	CHECK_ERR(tc_create(core, "Abc", NULL), 0);
	CHECK_ERR(tc_create(core, "abc ", NULL), 0);
	CHECK_ERR(tc_create(core, "ab", NULL), 0);
	CHECK_ERR(tc_create(core, "abcd", NULL), 0);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 7);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_namespaces_separate(void)
{
	const char *names[] = { "shared", "only-in", NULL };
	struct luo_core *core = with_incoming(names);
	struct luo_session *in, *out;
	char name[64];
	uint32_t n_out, n_in;

	CHECK(core);
	luo_core_counts(core, &n_out, &n_in, NULL);
	CHECK_EQ(n_out, 0);
	CHECK_EQ(n_in, 2);
	/* An outgoing session may reuse an incoming name. */
	CHECK_ERR(tc_create(core, "shared", &out), 0);
	CHECK_ERR(tc_create(core, "shared", NULL), -EEXIST);
	/* RETRIEVE finds the incoming one, never the outgoing one. */
	CHECK_ERR(tc_retrieve(core, "shared", &in), 0);
	CHECK(in != out);
	CHECK(luo_session_is_incoming(in));
	CHECK(!luo_session_is_incoming(out));
	CHECK_ERR(tc_create(core, "new-out", NULL), 0);
	CHECK_ERR(tc_retrieve(core, "new-out", NULL), -ENOENT);
	/* GET_NAME on both directions. */
	CHECK_ERR(tc_get_name(core, in, name), 0);
	CHECK(!strcmp(name, "shared"));
	CHECK_ERR(tc_get_name(core, out, name), 0);
	CHECK(!strcmp(name, "shared"));
	luo_core_counts(core, &n_out, &n_in, NULL);
	CHECK_EQ(n_out, 2);
	CHECK_EQ(n_in, 2);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_retrieve_enoent(void)
{
	char long_name[64];
	const char *names[] = { "known", long_name, NULL };
	struct luo_core *core;
	uint8_t raw[64];

	memset(long_name, 'L', 63);
	long_name[63] = 0;
	core = with_incoming(names);
	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "unknown", NULL), -ENOENT);
	CHECK_ERR(tc_retrieve(core, "Known", NULL), -ENOENT);
	CHECK_ERR(tc_retrieve(core, "know", NULL), -ENOENT);
	CHECK_ERR(tc_retrieve(core, "", NULL), -ENOENT);
	memset(raw, 0, sizeof(raw));
	CHECK_ERR(tc_retrieve_raw(core, raw, NULL), -ENOENT);
	/* Unterminated: no validation, it just finds nothing. */
	memset(raw, 'L', sizeof(raw));
	CHECK_ERR(tc_retrieve_raw(core, raw, NULL), -ENOENT);
	/* Bytes after the NUL are ignored here too. */
	memset(raw, 0x55, sizeof(raw));
	memcpy(raw, "known", 6);
	CHECK_ERR(tc_retrieve_raw(core, raw, NULL), 0);
	CHECK_ERR(tc_retrieve(core, long_name, NULL), 0);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_retrieve_twice_einval(void)
{
	const char *names[] = { "once", "other", NULL };
	struct luo_core *core = with_incoming(names);
	struct luo_session *s, *again = NULL;
	uint32_t in;

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "once", &s), 0);
	/* Still held: EINVAL, not a second handle. */
	CHECK_ERR(tc_retrieve(core, "once", &again), -EINVAL);
	CHECK(!again);
	CHECK_ERR(tc_retrieve(core, "once", NULL), -EINVAL);
	/* The other session is unaffected. */
	CHECK_ERR(tc_retrieve(core, "other", NULL), 0);
	/* Closed (and finished, it is empty): the session is gone. */
	luo_core_session_release(core, s);
	luo_core_counts(core, NULL, &in, NULL);
	CHECK_EQ(in, 1);
	CHECK_ERR(tc_retrieve(core, "once", NULL), -ENOENT);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_enospc_limit(void)
{
	struct luo_core *core = tc_core(3, 0);
	struct luo_session *s[3];
	uint8_t raw[64];
	uint32_t out;

	CHECK(core);
	CHECK_ERR(tc_create(core, "s0", &s[0]), 0);
	CHECK_ERR(tc_create(core, "s1", &s[1]), 0);
	CHECK_ERR(tc_create(core, "s2", &s[2]), 0);
	CHECK_ERR(tc_create(core, "s3", NULL), -ENOSPC);
	/* At the limit ENOSPC comes before EEXIST. */
	CHECK_ERR(tc_create(core, "s1", NULL), -ENOSPC);
	/* The name rules come first. */
	memset(raw, 0, sizeof(raw));
	CHECK_ERR(tc_create_raw(core, raw, NULL), -EINVAL);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 3);
	/* Closing one makes room; its name is free again. */
	luo_core_session_release(core, s[1]);
	CHECK_ERR(tc_create(core, "s0", NULL), -EEXIST);
	CHECK_ERR(tc_create(core, "s1", &s[1]), 0);
	CHECK_ERR(tc_create(core, "s4", NULL), -ENOSPC);
	luo_core_free(core);
	return TEST_PASS;
}

/* The limit is on outgoing sessions; incoming ones do not count. */
static int test_limit_outgoing_only(void)
{
	struct luo_core *old = tc_core(0, 0), *core;
	struct luo_core_config cfg = { .max_sessions = 2 };
	struct luo_handover_info info;
	char why[256];
	void *blob;
	size_t len;
	int lfd;

	tc_handler_init(&th, "fake", TC_TAKE_ALL, false);
	CHECK(old);
	CHECK_ERR(tc_create(old, "i0", NULL), 0);
	CHECK_ERR(tc_create(old, "i1", NULL), 0);
	CHECK_ERR(tc_exec(old, 2, &blob, &len, &lfd), 0);
	core = luo_core_new(&cfg);
	CHECK(core);
	CHECK_ERR(luo_handover_read(core, blob, len, &info, why, sizeof(why)), 0);
	free(blob);
	close(lfd);
	CHECK_ERR(tc_create(core, "o0", NULL), 0);
	CHECK_ERR(tc_create(core, "o1", NULL), 0);
	CHECK_ERR(tc_create(core, "o2", NULL), -ENOSPC);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_ten_thousand_sessions(void)
{
	struct luo_core *core = tc_core(0, 0);
	static struct luo_session *s[10000];
	char name[64];
	uint32_t out;

	CHECK(core);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "session-%05d", i);
		CHECK_ERR(tc_create(core, name, &s[i]), 0);
	}
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 10000);
	CHECK_ERR(tc_create(core, "session-04711", NULL), -EEXIST);
	CHECK_ERR(tc_get_name(core, s[9999], name), 0);
	CHECK(!strcmp(name, "session-09999"));
	for (int i = 0; i < 10000; i += 2)
		luo_core_session_release(core, s[i]);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 5000);
	CHECK_ERR(tc_create(core, "session-04710", NULL), 0);
	CHECK_ERR(tc_create(core, "session-04711", NULL), -EEXIST);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_name_freed_on_release(void)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *s;
	uint32_t out;

	CHECK(core);
	CHECK_ERR(tc_create(core, "again", &s), 0);
	luo_core_session_release(core, s);
	luo_core_counts(core, &out, NULL, NULL);
	CHECK_EQ(out, 0);
	CHECK_ERR(tc_create(core, "again", &s), 0);
	CHECK_ERR(tc_create(core, "again", NULL), -EEXIST);
	luo_core_free(core);
	return TEST_PASS;
}

static int test_get_name_reserved(void)
{
	const char *names[] = { "in", NULL };
	struct luo_core *core = with_incoming(names);
	struct luo_session *in, *out;
	uint8_t name[64];

	CHECK(core);
	CHECK_ERR(tc_retrieve(core, "in", &in), 0);
	CHECK_ERR(tc_create(core, "out", &out), 0);
	CHECK_ERR(get_name_raw(core, out, 1, name), -EINVAL);
	CHECK_ERR(get_name_raw(core, in, 0x80000000u, name), -EINVAL);
	CHECK_EQ(name[0], 0xee);	/* nothing copied back */
	CHECK_ERR(get_name_raw(core, in, 0, name), 0);
	CHECK(!strcmp((char *)name, "in"));
	/* GET_NAME works after FINISH too. */
	CHECK_ERR(tc_finish(core, in), 0);
	CHECK_ERR(get_name_raw(core, in, 0, name), 0);
	CHECK(!strcmp((char *)name, "in"));
	luo_core_free(core);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_create_and_get_name),
	TEST_CASE(test_duplicate_eexist),
	TEST_CASE(test_name_rules),
	TEST_CASE(test_namespaces_separate),
	TEST_CASE(test_retrieve_enoent),
	TEST_CASE(test_retrieve_twice_einval),
	TEST_CASE(test_enospc_limit),
	TEST_CASE(test_limit_outgoing_only),
	TEST_CASE(test_ten_thousand_sessions),
	TEST_CASE(test_name_freed_on_release),
	TEST_CASE(test_get_name_reserved),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
