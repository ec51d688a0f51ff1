/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real users and groups for the multi-user tests: made with groupadd and
 * useradd under a name no one else uses (luo-t-TAG-PID), removed by the
 * same test (tu_remove(), and an atexit() handler for a test that fails
 * half-way).  Root only; a test without root skips.
 */
#ifndef LUO_TEST_USERS_H
#define LUO_TEST_USERS_H

#include <stdio.h>

#include <stdbool.h>
#include <sys/types.h>

/**
 * struct tu_user - a user made for one test
 * @name: its user and group name
 * @uid:  its uid
 * @gid:  its primary group's gid (a group of the same name)
 */
struct tu_user {
	char name[32];
	uid_t uid;
	gid_t gid;
};

/**
 * struct tu_group - a group made for one test
 * @name: its name
 * @gid:  its gid
 */
struct tu_group {
	char name[32];
	gid_t gid;
};

int tu_group_create(struct tu_group *g, const char *tag);
int tu_user_create(struct tu_user *u, const char *tag,
		   const struct tu_group *member_of);
void tu_user_remove(struct tu_user *u);
void tu_group_remove(struct tu_group *g);
int tu_run_as(const struct tu_user *u, int (*fn)(void *ctx), void *ctx);
pid_t tu_spawn_as(const struct tu_user *u, int (*fn)(void *ctx), void *ctx);
bool tu_available(void);

/*
 * In a child run as a test user (tu_run_as(), tu_spawn_as()): a failed check
 * says where and ends the child with status 1.
 */
#define TU_CHILD_CHECK(cond) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: child check failed: %s\n",	\
			__FILE__, __LINE__, #cond);			\
		return 1;						\
	}								\
} while (0)

#endif /* LUO_TEST_USERS_H */
