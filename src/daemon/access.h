/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access control: who a peer is (SO_PEERCRED at accept), who may open the
 * device (root, the daemon's own user, and --group), and the per-user and
 * per-connection limits on sessions and files (ENOSPC past them).
 */
#ifndef LUOD_ACCESS_H
#define LUOD_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "list.h"

/**
 * struct access_limits - what the command line says; 0 means no limit
 * @sessions_per_user: outgoing sessions one uid may hold
 * @files_per_user:    files in the outgoing sessions one uid created
 * @sessions_per_conn: outgoing sessions made through one device open
 * @group:             --group's gid, or (gid_t)-1
 */
struct access_limits {
	uint32_t sessions_per_user;
	uint32_t files_per_user;
	uint32_t sessions_per_conn;
	gid_t group;
};

struct access_user;
struct access_count;

/**
 * struct access_peer - the access state of one connection
 * @pid:      the peer's pid (SO_PEERCRED at accept, or the creator's for
 *            a session)
 * @uid:      its uid
 * @gid:      its gid
 * @allowed:  root, the daemon's uid, or a member of --group
 * @user:     a session it created: the creator's charge, else NULL
 * @count:    a device: its sessions; a session: its creator's
 * @files:    a session: files charged to @user through it
 */
struct access_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool allowed;
	struct access_user *user;
	struct access_count *count;
	uint32_t files;
};

/**
 * struct access - the limits and every user's charges
 * @lim:   the limits
 * @users: struct access_user, one per uid holding sessions
 */
struct access {
	struct access_limits lim;
	struct list_head users;
};

void access_init(struct access *a, const struct access_limits *lim);
void access_fini(struct access *a);
int access_peer_init(const struct access *a, struct access_peer *p, int fd);
int access_check_open(const struct access_peer *p, int fd);
int access_check_create(const struct access *a, const struct access_peer *dev);
int access_check_preserve(const struct access *a,
			  const struct access_peer *sess);
int access_bind_session(struct access *a, struct access_peer *dev,
			struct access_peer *sess, bool created,
			const char *name);
void access_charge_file(struct access_peer *sess);
void access_uncharge_file(struct access_peer *sess);
void access_peer_release(struct access *a, struct access_peer *p);

#endif /* LUOD_ACCESS_H */
