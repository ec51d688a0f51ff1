// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access control.  The socket's mode is the first gate (0600, or 0660 for
 * --group); the peer's credentials, read once at accept with SO_PEERCRED
 * and SO_PEERGROUPS, are the second: only root, the daemon's own uid and
 * members of --group complete the open handshake (EACCES otherwise).
 *
 * Limits: an outgoing session belongs to the uid that created it, and the
 * files preserved in it count toward that uid, whoever sends PRESERVE_FD
 * (a session fd can be passed on).  A device open counts the outgoing
 * sessions created through it that are still alive.  The charges end with
 * the session (its last close, or the reboot: incoming sessions count for
 * nobody, as the handover does not record owners).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"
#include "log.h"

#define ACCESS_MAX_GROUPS	256

/**
 * struct access_user - one uid's charges
 * @uid:      the uid
 * @sessions: outgoing sessions it created, alive
 * @files:    files in them
 * @link:     in access.users
 */
struct access_user {
	uid_t uid;
	uint32_t sessions;
	uint64_t files;
	struct list_head link;
};

/**
 * struct access_count - the live sessions of one device open
 * @refs:     the device connection and each of those sessions
 * @sessions: the sessions
 */
struct access_count {
	unsigned int refs;
	uint32_t sessions;
};

/**
 * access_init() - no charges yet
 * @a:   the state
 * @lim: the limits, copied
 */
void access_init(struct access *a, const struct access_limits *lim)
{
	a->lim = *lim;
	list_init(&a->users);
}

/**
 * access_fini() - drop what is left (every connection is closed by now)
 * @a: the state
 */
void access_fini(struct access *a)
{
	struct access_user *u, *tmp;

	list_for_each_entry_safe(u, tmp, &a->users, link) {
		list_del(&u->link);
		free(u);
	}
}

/* Is @gid among the peer's supplementary groups (SO_PEERGROUPS)? */
static bool access_in_groups(int fd, gid_t gid)
{
	gid_t groups[ACCESS_MAX_GROUPS];
	socklen_t len = sizeof(groups);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/**
 * access_peer_init() - who is at the other end of an accepted socket
 * @a:  the state (for --group)
 * @p:  out: the peer
 * @fd: the connection
 *
 * Return: 0, or -errno if SO_PEERCRED fails (the connection is refused).
 */
int access_peer_init(const struct access *a, struct access_peer *p, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	p->pid = cr.pid;
	p->uid = cr.uid;
	p->gid = cr.gid;
	p->allowed = cr.uid == 0 || cr.uid == geteuid();
	if (!p->allowed && a->lim.group != (gid_t)-1)
		p->allowed = cr.gid == a->lim.group ||
			     access_in_groups(fd, a->lim.group);
	return 0;
}

/**
 * access_check_open() - may this peer complete the open handshake?
 * @p:  the peer
 * @fd: its connection, for the log
 *
 * Return: 0 or -EACCES (logged).
 */
int access_check_open(const struct access_peer *p, int fd)
{
	if (p->allowed)
		return 0;
	log_warn("connection %d: open refused to pid %d uid %u gid %u: "
		 "not root, our user or in --group", fd, (int)p->pid,
		 (unsigned int)p->uid, (unsigned int)p->gid);
	return -EACCES;
}

static struct access_user *access_user_find(const struct access *a, uid_t uid)
{
	struct access_user *u;

	list_for_each_entry(u, &a->users, link)
		if (u->uid == uid)
			return u;
	return NULL;
}

/**
 * access_check_create() - may @dev create one more session?
 * @a:   the state
 * @dev: the device connection's peer
 *
 * Return: 0, or -ENOSPC at the per-connection or per-user limit.
 */
int access_check_create(const struct access *a, const struct access_peer *dev)
{
	const struct access_user *u = access_user_find(a, dev->uid);

	if (a->lim.sessions_per_conn && dev->count &&
	    dev->count->sessions >= a->lim.sessions_per_conn)
		return -ENOSPC;
	if (a->lim.sessions_per_user && u &&
	    u->sessions >= a->lim.sessions_per_user)
		return -ENOSPC;
	return 0;
}

/**
 * access_check_preserve() - may one more file go into this session?
 * @a:    the state
 * @sess: the session connection's peer
 *
 * Return: 0, or -ENOSPC at the per-user limit of the session's creator.
 */
int access_check_preserve(const struct access *a,
			  const struct access_peer *sess)
{
	if (a->lim.files_per_user && sess->user &&
	    sess->user->files >= a->lim.files_per_user)
		return -ENOSPC;
	return 0;
}

/* Charges a new outgoing session to its creator and its device open. */
static int access_charge_session(struct access *a, struct access_peer *dev,
				 struct access_peer *sess)
{
	struct access_user *u = access_user_find(a, dev->uid);

	if (!dev->count) {
		dev->count = calloc(1, sizeof(*dev->count));
		if (!dev->count)
			return -ENOMEM;
		dev->count->refs = 1;
	}
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->uid = dev->uid;
		list_add_tail(&u->link, &a->users);
	}
	u->sessions++;
	sess->user = u;
	dev->count->sessions++;
	dev->count->refs++;
	sess->count = dev->count;
	return 0;
}

/**
 * access_bind_session() - a session connection takes its creator's identity
 * @a:       the state
 * @dev:     the device connection that asked
 * @sess:    the new session connection's peer
 * @created: CREATE_SESSION (charged) rather than RETRIEVE_SESSION (not)
 * @name:    the session's name, for the log
 *
 * Logs "session 'NAME' created|retrieved by pid P uid U".
 *
 * Return: 0 or -ENOMEM (nothing charged).
 */
int access_bind_session(struct access *a, struct access_peer *dev,
			struct access_peer *sess, bool created,
			const char *name)
{
	int r = 0;

	memset(sess, 0, sizeof(*sess));
	sess->pid = dev->pid;
	sess->uid = dev->uid;
	sess->gid = dev->gid;
	sess->allowed = dev->allowed;
	if (created)
		r = access_charge_session(a, dev, sess);
	if (!r)
		log_info("session '%s' %s by pid %d uid %u", name,
			 created ? "created" : "retrieved", (int)dev->pid,
			 (unsigned int)dev->uid);
	return r;
}

/**
 * access_charge_file() - a file was preserved through @sess
 * @sess: the session connection's peer
 */
void access_charge_file(struct access_peer *sess)
{
	if (!sess->user)
		return;
	sess->user->files++;
	sess->files++;
}

/**
 * access_uncharge_file() - a file was unpreserved through @sess
 * @sess: the session connection's peer
 *
 * Only files charged through this connection are given back.
 */
void access_uncharge_file(struct access_peer *sess)
{
	if (!sess->user || !sess->files)
		return;
	sess->user->files--;
	sess->files--;
}

/**
 * access_peer_release() - a connection is gone: end its charges
 * @a: the state
 * @p: its peer
 */
void access_peer_release(struct access *a, struct access_peer *p)
{
	struct access_user *u = p->user;

	if (u) {
		u->sessions--;
		u->files -= p->files;
		if (!u->sessions) {
			list_del(&u->link);
			free(u);
		}
	}
	if (p->count) {
		if (u)
			p->count->sessions--;
		if (!--p->count->refs)
			free(p->count);
	}
	p->user = NULL;
	p->count = NULL;
	p->files = 0;
}
