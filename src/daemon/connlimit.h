/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections per user, and fds kept in reserve for root: one user cannot
 * take every fd of the daemon, and root can always connect and ask for
 * STATUS.
 */
#ifndef LUOD_CONNLIMIT_H
#define LUOD_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "list.h"

/* Fds held open for root's connections once the others took the rest. */
#define CONNLIMIT_RESERVE	8

/**
 * struct connlimit - every uid's connections, and root's reserve
 * @per_user:   --max-connections-per-user (0: no limit); root and the
 *              daemon's own uid are not limited
 * @users:      struct connlimit_user, one per uid holding connections
 * @reserve:    open fds of /dev/null, given up one at a time for root
 * @nr_reserve: how many of @reserve are open
 * @refused:    connections refused so far (for a log line now and then)
 */
struct connlimit {
	uint32_t per_user;
	struct list_head users;
	int reserve[CONNLIMIT_RESERVE];
	unsigned int nr_reserve;
	uint64_t refused;
};

struct connlimit_user;

void connlimit_init(struct connlimit *cl, uint32_t per_user);
void connlimit_fini(struct connlimit *cl);
struct connlimit_user *connlimit_get(struct connlimit *cl, uid_t uid);
void connlimit_put(struct connlimit *cl, struct connlimit_user *u);
int connlimit_check(struct connlimit *cl, uid_t uid, pid_t pid,
		    unsigned int more);
bool connlimit_spare(struct connlimit *cl);
void connlimit_refill(struct connlimit *cl);

#endif /* LUOD_CONNLIMIT_H */
