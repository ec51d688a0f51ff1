/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access control: who a peer is (SO_PEERCRED at accept), who may open the
 * device (root, the daemon's own user, and --group), who is the
 * administrator, and the per-connection session limit.  The per-user
 * limits are the core's (luo_core_config).
 */
#ifndef LUOD_ACCESS_H
#define LUOD_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * struct access_limits - what the command line says; 0 means no limit
 * @sessions_per_user: sessions one uid may own (given to the core)
 * @files_per_user:    files in them (given to the core)
 * @sessions_per_conn: outgoing sessions made through one device open
 * @group:             --group's gid, or (gid_t)-1
 */
struct access_limits {
	uint32_t sessions_per_user;
	uint32_t files_per_user;
	uint32_t sessions_per_conn;
	gid_t group;
};

struct access_count;

/**
 * struct access_peer - the access state of one connection
 * @pid:      the peer's pid (SO_PEERCRED at accept, or the creator's for
 *            a session)
 * @uid:      its uid
 * @gid:      its gid
 * @allowed:  root, the daemon's uid, or a member of --group
 * @admin:    root, or the daemon's uid: may change the machine as a whole
 * @count:    a device: the sessions created through it; a session: its
 *            creator's
 * @counted:  a session: counted in @count
 */
struct access_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool allowed;
	bool admin;
	struct access_count *count;
	bool counted;
};

/**
 * struct access - the limits
 * @lim: the limits
 */
struct access {
	struct access_limits lim;
};

void access_init(struct access *a, const struct access_limits *lim);
int access_peer_init(const struct access *a, struct access_peer *p, int fd);
int access_check_open(const struct access_peer *p, int fd);
uint32_t access_session_room(const struct access *a,
			     const struct access_peer *dev);
int access_bind_session(struct access_peer *dev, struct access_peer *sess,
			bool created);
void access_peer_release(struct access_peer *p);

#endif /* LUOD_ACCESS_H */
