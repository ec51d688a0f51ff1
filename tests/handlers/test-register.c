// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * luo_register_builtin_handlers() against stand-ins for the core's
 * registration functions: which handlers it registers, in which order, and
 * that a failure unregisters what it had registered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "handlers.h"
#include "../common/check.h"

#define MAX_CALLS	16

static struct luo_file_handler *registered[MAX_CALLS];
static int nr_registered, nr_unregistered, fail_at = -1;
static struct luo_core *seen_core;

int luo_register_file_handler(struct luo_core *core, struct luo_file_handler *h)
{
	seen_core = core;
	if (nr_registered == fail_at)
		return -EEXIST;
	if (nr_registered < MAX_CALLS)
		registered[nr_registered++] = h;
	return 0;
}

void luo_unregister_file_handler(struct luo_core *core,
				 struct luo_file_handler *h)
{
	if (nr_registered > 0 && registered[nr_registered - 1] == h) {
		nr_registered--;
		nr_unregistered++;
	}
}

static void reset(int fail)
{
	nr_registered = 0;
	nr_unregistered = 0;
	fail_at = fail;
	seen_core = NULL;
}

static int test_registers_memfd(void)
{
	struct luo_core *core = (struct luo_core *)&nr_registered;

	reset(-1);
	CHECK_EQ(luo_register_builtin_handlers(core), 0);
	CHECK(seen_core == core);
	CHECK(nr_registered >= 1);
	CHECK(registered[0] == luo_memfd_handler());
	CHECK(strcmp(registered[0]->compatible, "memfd-v2") == 0);

	luo_unregister_builtin_handlers(core);
	CHECK_EQ(nr_registered, 0);
	return TEST_PASS;
}

static int test_failure_unwinds(void)
{
	struct luo_core *core = (struct luo_core *)&nr_registered;

	reset(0);
	CHECK_EQ(luo_register_builtin_handlers(core), -EEXIST);
	CHECK_EQ(nr_registered, 0);
	CHECK_EQ(nr_unregistered, 0);
	return TEST_PASS;
}

/* The kernel's set is memfd-v2 alone; luo's has five, memfd first. */
static int test_sets(void)
{
	struct luo_core *core = (struct luo_core *)&nr_registered;
	struct luo_file_handler *h;
	enum luo_handler_set set;
	int p[2];

	reset(-1);
	CHECK_EQ(luo_register_handler_set(core, LUO_HANDLERS_KERNEL), 0);
	CHECK_EQ(nr_registered, 1);
	h = registered[0];
	CHECK(!strcmp(h->compatible, "memfd-v2"));
	CHECK(h->ops->preserve == luo_memfd_handler()->ops->preserve);
	/* Its reason for refusing a pipe names luo's set. */
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	CHECK(!h->ops->can_preserve(h, p[0]));
	CHECK(strstr(h->ops->refuse_reason(h, p[0]), "--handlers=luo"));
	close(p[0]);
	close(p[1]);
	luo_unregister_handler_set(core, LUO_HANDLERS_KERNEL);
	CHECK_EQ(nr_registered, 0);

	CHECK_EQ(luo_register_handler_set(core, LUO_HANDLERS_LUO), 0);
	CHECK_EQ(nr_registered, 5);
	CHECK(registered[0] == luo_memfd_handler());
	CHECK(registered[4] == luo_file_handler());
	luo_unregister_handler_set(core, LUO_HANDLERS_LUO);
	CHECK_EQ(nr_registered, 0);

	CHECK_EQ(luo_register_handler_set(core, (enum luo_handler_set)7),
		 -EINVAL);
	CHECK_EQ(luo_handler_set_parse("kernel", &set), 0);
	CHECK_EQ(set, LUO_HANDLERS_KERNEL);
	CHECK_EQ(luo_handler_set_parse("luo", &set), 0);
	CHECK_EQ(set, LUO_HANDLERS_LUO);
	CHECK_EQ(luo_handler_set_parse("memfd", &set), -EINVAL);
	CHECK(!strcmp(luo_handler_set_name(LUO_HANDLERS_KERNEL), "kernel"));
	return TEST_PASS;
}

static const struct test_case cases[] = {
	TEST_CASE(test_registers_memfd),
	TEST_CASE(test_sets),
	TEST_CASE(test_failure_unwinds),
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv, NULL);
}
