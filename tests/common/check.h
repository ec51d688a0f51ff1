/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the in-process test programs share: the exit codes meson reads,
 * CHECK and CHECK_EQ (which return TEST_FAIL from the calling function),
 * counting the process's fds, and a runner that runs named cases and fails
 * any case that leaves an fd open.
 */
#ifndef LUO_TEST_CHECK_H
#define LUO_TEST_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TEST_PASS	0
#define TEST_SKIP	77
#define TEST_FAIL	1

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: check failed: %s (errno %d %s)\n", \
			__FILE__, __LINE__, __func__, #cond, errno,	\
			strerror(errno));				\
		return TEST_FAIL;					\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, __func__, #a, _a, #b, _b);	\
		return TEST_FAIL;					\
	}								\
} while (0)

#define SKIP(why) do {							\
	fprintf(stderr, "%s: skipped: %s\n", __func__, why);		\
	return TEST_SKIP;						\
} while (0)

/* The fds this process has open, not counting the one used to count. */
static inline int test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

struct test_case {
	const char *name;
	int (*fn)(void);
};

#define TEST_CASE(f) { #f, f }

/* With case names on the command line, only those run. */
static inline int test_selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

/*
 * Runs @cases (those named in @argv if any), calling @before each time if
 * not NULL; a case that passes but leaks an fd fails.  Prints one line per
 * case and a summary; returns the program's exit code.
 */
static inline int test_run(const struct test_case *cases, size_t n,
			   int argc, char **argv, void (*before)(void))
{
	size_t passed = 0, skipped = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		int before_fds, r;

		if (!test_selected(argc, argv, cases[i].name))
			continue;
		if (before)
			before();
		before_fds = test_count_fds();
		r = cases[i].fn();
		if (r == TEST_PASS && before_fds != test_count_fds()) {
			fprintf(stderr, "%s: fd leak: %d open before, %d after\n",
				cases[i].name, before_fds, test_count_fds());
			r = TEST_FAIL;
		}
		printf("%-4s %s\n", r == TEST_PASS ? "ok" :
		       r == TEST_SKIP ? "skip" : "FAIL", cases[i].name);
		if (r == TEST_PASS)
			passed++;
		else if (r == TEST_SKIP)
			skipped++;
		else
			failed++;
	}
	printf("%zu passed, %zu skipped, %zu failed\n", passed, skipped, failed);
	if (failed)
		return TEST_FAIL;
	return passed ? TEST_PASS : TEST_SKIP;
}

#endif /* LUO_TEST_CHECK_H */
