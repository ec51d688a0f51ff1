// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Connections per user.  Every connection counts toward the uid at its
 * other end: device and control opens (from accept on), and session
 * connections toward the uid that created or retrieved the session.  Past
 * --max-connections-per-user a new open and a new session fail with
 * EMFILE, as open(2) and the kernel's CREATE_SESSION do without a free fd.
 * Root and the daemon's own uid are not limited: they administer it.
 *
 * The reserve: CONNLIMIT_RESERVE fds of /dev/null are held open.  When
 * accept() finds no fd left, one is given up for the next connection: a
 * root connection is served with it, any other is closed at once, so the
 * listener never stalls and root can always ask for STATUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "connlimit.h"
#include "log.h"

/**
 * struct connlimit_user - one uid's connections
 * @uid:   the uid
 * @conns: its live connections
 * @link:  in connlimit.users
 */
struct connlimit_user {
	uid_t uid;
	uint32_t conns;
	struct list_head link;
};

/**
 * connlimit_init() - no connections yet; fill the reserve
 * @cl:       the state
 * @per_user: --max-connections-per-user, 0 for no limit
 */
void connlimit_init(struct connlimit *cl, uint32_t per_user)
{
	cl->per_user = per_user;
	cl->nr_reserve = 0;
	cl->refused = 0;
	list_init(&cl->users);
	connlimit_refill(cl);
}

/**
 * connlimit_fini() - close the reserve; drop what is left
 * @cl: the state (every connection is closed by now)
 */
void connlimit_fini(struct connlimit *cl)
{
	struct connlimit_user *u, *tmp;

	while (cl->nr_reserve)
		close(cl->reserve[--cl->nr_reserve]);
	list_for_each_entry_safe(u, tmp, &cl->users, link) {
		list_del(&u->link);
		free(u);
	}
}

static struct connlimit_user *connlimit_find(struct connlimit *cl, uid_t uid)
{
	struct connlimit_user *u;

	list_for_each_entry(u, &cl->users, link)
		if (u->uid == uid)
			return u;
	return NULL;
}

/**
 * connlimit_get() - count one more connection of @uid
 * @cl:  the state
 * @uid: its uid
 *
 * Return: the charge, to give back with connlimit_put(), or NULL if out
 * of memory.
 */
struct connlimit_user *connlimit_get(struct connlimit *cl, uid_t uid)
{
	struct connlimit_user *u = connlimit_find(cl, uid);

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return NULL;
		u->uid = uid;
		list_add_tail(&u->link, &cl->users);
	}
	u->conns++;
	return u;
}

/**
 * connlimit_put() - a connection counted by connlimit_get() is gone
 * @cl: the state
 * @u:  its charge, or NULL
 */
void connlimit_put(struct connlimit *cl, struct connlimit_user *u)
{
	if (!u || --u->conns)
		return;
	list_del(&u->link);
	free(u);
}

/**
 * connlimit_check() - may @uid hold its connections and @more?
 * @cl:   the state
 * @uid:  the uid
 * @pid:  the peer, for the log
 * @more: connections about to be added: 1 for a new session's, 0 at a
 *        handshake (the connection asking was counted at accept)
 *
 * Return: 0, or -EMFILE past --max-connections-per-user (logged at the
 * first refusal and every 1000th).
 */
int connlimit_check(struct connlimit *cl, uid_t uid, pid_t pid,
		    unsigned int more)
{
	const struct connlimit_user *u;

	if (!cl->per_user || uid == 0 || uid == geteuid())
		return 0;
	u = connlimit_find(cl, uid);
	if (!u || (uint64_t)u->conns + more <= cl->per_user)
		return 0;
	if (cl->refused++ % 1000 == 0)
		log_warn("uid %u (pid %d) holds %u connections: refused one "
			 "more (limit --max-connections-per-user %u; %llu so "
			 "far)", (unsigned int)uid, (int)pid, u->conns,
			 cl->per_user, (unsigned long long)cl->refused);
	return -EMFILE;
}

/**
 * connlimit_spare() - give up one reserve fd for the next accept()
 * @cl: the state
 *
 * Return: true if one was closed, false if the reserve is empty.
 */
bool connlimit_spare(struct connlimit *cl)
{
	if (!cl->nr_reserve)
		return false;
	close(cl->reserve[--cl->nr_reserve]);
	return true;
}

/**
 * connlimit_refill() - reopen the reserve's fds that were given up
 * @cl: the state
 *
 * Called whenever a connection closes; stops at the first failure.
 */
void connlimit_refill(struct connlimit *cl)
{
	int fd;

	while (cl->nr_reserve < CONNLIMIT_RESERVE) {
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		cl->reserve[cl->nr_reserve++] = fd;
	}
}
