/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny harness for the handler tests: each case is a function returning
 * HT_PASS, HT_SKIP or HT_FAIL; ht_run() checks that no case leaks an fd.
 * A program exits 0 if every case passed or skipped (77 if all skipped),
 * 1 if any failed.
 */
#ifndef LUO_HT_H
#define LUO_HT_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HT_PASS	0
#define HT_SKIP	77
#define HT_FAIL	1

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: check failed: %s (errno %d %s)\n", \
			__FILE__, __LINE__, __func__, #cond, errno,	\
			strerror(errno));				\
		return HT_FAIL;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, __func__, #a, _a, #b, _b);	\
		return HT_FAIL;						\
	}								\
} while (0)

#define SKIP(why) do {							\
	fprintf(stderr, "%s: skipped: %s\n", __func__, why);		\
	return HT_SKIP;							\
} while (0)

static inline int ht_count_fds(void)
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
	return n;
}

struct ht_case {
	const char *name;
	int (*fn)(void);
};

#define HT_CASE(f) { #f, f }

static inline int ht_run(const struct ht_case *cases, size_t n)
{
	size_t i, passed = 0, skipped = 0, failed = 0;

	for (i = 0; i < n; i++) {
		int before = ht_count_fds(), after, r;

		r = cases[i].fn();
		after = ht_count_fds();
		if (r == HT_PASS && before != after) {
			fprintf(stderr, "%s: fd leak: %d open before, %d after\n",
				cases[i].name, before, after);
			r = HT_FAIL;
		}
		printf("%-4s %s\n", r == HT_PASS ? "ok" :
		       r == HT_SKIP ? "skip" : "FAIL", cases[i].name);
		if (r == HT_PASS)
			passed++;
		else if (r == HT_SKIP)
			skipped++;
		else
			failed++;
	}
	printf("%zu passed, %zu skipped, %zu failed\n", passed, skipped, failed);
	if (failed)
		return HT_FAIL;
	return passed ? HT_PASS : HT_SKIP;
}

#endif /* LUO_HT_H */
