// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who is at the other end.  The socket's mode is the first gate (0600, or
 * 0660 for --group); the peer's credentials, read once at accept with
 * SO_PEERCRED and SO_PEERGROUPS, are the second: only root, the daemon's
 * own uid and members of --group complete the open handshake (EACCES
 * otherwise).  The administrator is root, or the daemon's own uid when the
 * daemon does not run as root (a per-user daemon).
 *
 * What each caller may do, and the per-user limits, are the core's
 * (dispatch.c, owner.c): the transport tells it who calls.  Only the
 * per-connection limit is kept here: a device open counts the sessions
 * created through it whose session connections are still open.
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
 * struct access_count - the live sessions of one device open
 * @refs:     the device connection and each of those sessions
 * @sessions: the sessions
 */
struct access_count {
	unsigned int refs;
	uint32_t sessions;
};

/**
 * access_init() - set the limits
 * @a:   the state
 * @lim: the limits, copied
 */
void access_init(struct access *a, const struct access_limits *lim)
{
	a->lim = *lim;
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
 * @a:  the state (for --group), or NULL: no group
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
	p->admin = cr.uid == 0 || cr.uid == geteuid();
	p->allowed = p->admin;
	if (!p->allowed && a && a->lim.group != (gid_t)-1)
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

/**
 * access_session_room() - sessions a device open may still create
 * @a:   the state
 * @dev: the device connection's peer
 *
 * Return: what --max-sessions-per-connection leaves, UINT32_MAX without it.
 */
uint32_t access_session_room(const struct access *a,
			     const struct access_peer *dev)
{
	uint32_t used = dev->count ? dev->count->sessions : 0;

	if (!a || !a->lim.sessions_per_conn)
		return UINT32_MAX;
	return used < a->lim.sessions_per_conn ?
	       a->lim.sessions_per_conn - used : 0;
}

/**
 * access_bind_session() - a session connection takes its creator's identity
 * @dev:     the device connection that asked
 * @sess:    the new session connection's peer
 * @created: CREATE_SESSION (counted toward @dev) rather than RETRIEVE
 *
 * Return: 0 or -ENOMEM (nothing counted).
 */
int access_bind_session(struct access_peer *dev, struct access_peer *sess,
			bool created)
{
	memset(sess, 0, sizeof(*sess));
	sess->pid = dev->pid;
	sess->uid = dev->uid;
	sess->gid = dev->gid;
	sess->allowed = dev->allowed;
	sess->admin = dev->admin;
	if (!created)
		return 0;
	if (!dev->count) {
		dev->count = calloc(1, sizeof(*dev->count));
		if (!dev->count)
			return -ENOMEM;
		dev->count->refs = 1;
	}
	dev->count->sessions++;
	dev->count->refs++;
	sess->count = dev->count;
	sess->counted = true;
	return 0;
}

/**
 * access_peer_release() - a connection is gone: end its counts
 * @p: its peer
 */
void access_peer_release(struct access_peer *p)
{
	if (p->count) {
		if (p->counted)
			p->count->sessions--;
		if (!--p->count->refs)
			free(p->count);
	}
	p->count = NULL;
	p->counted = false;
}
