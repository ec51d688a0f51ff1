// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A struct shorter than the core's own but at least its minimum size
 * (SPEC.md 2.1: copy_struct_from_user): the core reads exactly the bytes
 * given, never past them, and copies back no more than that.  Found by
 * fuzz/fuzz-core: STATUS grew to more than its minimum size, and the core
 * read the whole of its own struct from a caller's 88 bytes.  The request
 * buffers here are exactly as long as what is sent, so the sanitizer build
 * sees any read past them.
 */
#include <stddef.h>
#include <stdlib.h>

#include "tc.h"

#define STATUS_MIN	(offsetof(struct luo_status, version) + LUO_VERSION_LENGTH)

/* STATUS with every size from the minimum to the core's own. */
static int test_status_short(void)
{
	struct luo_core *core = tc_core(0, 0);

	CHECK(core);
	for (uint32_t size = STATUS_MIN; size <= sizeof(struct luo_status);
	     size++) {
		uint8_t *arg = malloc(size + 1);
		struct luo_call call;

		CHECK(arg);
		memset(arg, 0, size);
		memcpy(arg, &size, sizeof(size));
		arg[size] = 0xa5;	/* past what is sent: never written */
		luo_call_init(&call, LUO_IOCTL_STATUS, arg, size, -1);
		CHECK_ERR(luo_core_device_ioctl(core, &call), 0);
		CHECK_EQ(call.copy_len, size);
		CHECK_EQ(arg[size], 0xa5);
		CHECK_EQ(((struct luo_status *)arg)->update_number, 1);
		free(arg);
	}
	luo_core_free(core);
	return TEST_PASS;
}

/* One byte short of the minimum is EINVAL, whatever follows. */
static int test_status_below_min(void)
{
	struct luo_core *core = tc_core(0, 0);
	uint32_t size = STATUS_MIN - 1;
	uint8_t *arg = calloc(1, size);
	struct luo_call call;

	CHECK(core && arg);
	memcpy(arg, &size, sizeof(size));
	luo_call_init(&call, LUO_IOCTL_STATUS, arg, size, -1);
	CHECK_ERR(luo_core_device_ioctl(core, &call), -EINVAL);
	CHECK_EQ(call.copy_len, 0);
	free(arg);
	luo_core_free(core);
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_status_short),
	TEST_CASE(test_status_below_min),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
