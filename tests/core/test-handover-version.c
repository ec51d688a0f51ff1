// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A handover whose tree claims an FDT version older than 16 is refused
 * with EINVAL, not handed to libfdt: libfdt 1.6.1's fdt_check_full()
 * dereferences NULL on such a tree.  Found by fuzz/fuzz-handover.  A
 * version-16 tree is still read.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "tc.h"

#define HDR_SIZE	16	/* magic, CRC, size: see src/core/handover.c */
#define FDT_VERSION_OFF	20	/* struct fdt_header.version */
#define FDT_COMP_OFF	24	/* struct fdt_header.last_comp_version */

/*
 * A real handover of one empty session, its tree's version set to @v and
 * its last compatible version to @comp (libfdt checks comp <= version).
 */
static int handover_of_version(uint32_t v, uint32_t comp, void **blob,
			       size_t *len, int *lfd)
{
	struct luo_core *core = tc_core(0, 0);
	struct luo_session *s;
	uint32_t be = htonl(v), be_comp = htonl(comp), crc;
	uint8_t *b;

	if (!core || tc_create(core, "v", &s) || tc_exec(core, 2, blob, len, lfd))
		return -1;
	b = *blob;
	memcpy(b + HDR_SIZE + FDT_VERSION_OFF, &be, sizeof(be));
	memcpy(b + HDR_SIZE + FDT_COMP_OFF, &be_comp, sizeof(be_comp));
	crc = (uint32_t)crc32(0, b + HDR_SIZE, (uInt)(*len - HDR_SIZE));
	memcpy(b + 8, &crc, sizeof(crc));
	return 0;
}

static int read_version(uint32_t v, uint32_t comp, int want)
{
	struct luo_handover_info info;
	struct luo_core *core;
	uint32_t out, in;
	uint64_t files;
	char why[256];
	void *blob;
	size_t len;
	int lfd, ret;

	CHECK(!handover_of_version(v, comp, &blob, &len, &lfd));
	core = tc_core(0, 0);
	CHECK(core);
	ret = luo_handover_read(core, blob, len, &info, why, sizeof(why));
	if (ret)
		fprintf(stderr, "version %u: refused: %s\n", v, why);
	CHECK_ERR(ret, want);
	luo_core_counts(core, &out, &in, &files);
	CHECK_EQ(in, want ? 0 : 1);
	luo_core_free(core);
	free(blob);
	close(lfd);
	return TEST_PASS;
}

static int test_version_15_refused(void)
{
	return read_version(15, 2, -EINVAL);
}

static int test_version_2_refused(void)
{
	return read_version(2, 2, -EINVAL);
}

static int test_version_16_read(void)
{
	return read_version(16, 16, 0);
}

static const struct test_case cases[] = {
	TEST_CASE(test_version_15_refused),
	TEST_CASE(test_version_2_refused),
	TEST_CASE(test_version_16_read),
};

int main(int argc, char **argv)
{
	return tc_main(argc, argv, cases, TC_ARRAY_SIZE(cases));
}
