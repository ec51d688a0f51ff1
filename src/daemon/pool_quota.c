// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A per-uid limit on pool space (liveupdated --max-pool-per-user): the
 * pool filesystem's user quota, so that the kernel enforces it.
 *
 * A client writes into its pool file directly (write, mmap): no check by
 * the daemon could stop it.  So every pool file a client makes is
 * fchown'ed to its uid, whose blocks the filesystem then counts; the uid's
 * block hard limit is set (quotactl(2) Q_SETQUOTA) before its first file
 * is handed out, and a write past it fails EDQUOT in the client.  Root's
 * files stay root's and root has no limit.
 *
 * Where quota can be had:
 *  - a device pool: formatted with the ext4 "quota" feature (usrquota)
 *    when the option is given (pool_device.c), accounting on at every
 *    mount, enforcement switched on here (Q_QUOTAON); an older pool
 *    formatted without the feature is refused, never converted: a kernel
 *    without CONFIG_QFMT_V2 cannot mount an ext4 with the feature at all,
 *    and the next kernel of a kexec must mount the pool;
 *  - a directory pool: only if its filesystem enforces user quota already
 *    (the administrator's quotaon); the limit is then the uid's limit on
 *    that whole filesystem.  Anything else is refused at start: an option
 *    that would not hold is worse than none.
 *
 * The daemon keeps CAP_SYS_RESOURCE (privs.c), which ignores quota: its
 * own writes into a user's file (REBOOT --kexec's copies of the user's
 * memfds) happen with it lowered, so the user's limit holds for them too,
 * and are checked before anything is frozen (pool_quota_room()).
 * CAP_SYS_ADMIN (quotactl on other uids), CAP_CHOWN and CAP_FOWNER (a
 * kexec links a user's file whatever mode its owner gave it: a setuid
 * file is no "safe hardlink source") stay permitted only, raised around
 * the calls that need them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/dqblk_xfs.h>
#include <linux/quota.h>

#include "log.h"
#include "pool.h"
#include "privs.h"

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd	443
#endif

#define QUOTA_CAPS	((1u << CAP_SYS_ADMIN) | (1u << CAP_CHOWN))

/* quotactl_fd(2) on the pool's filesystem, user quota, with the caps. */
static int pool_quotactl(struct pool *p, unsigned int cmd, uint32_t id,
			 void *addr)
{
	uint32_t raised = privs_raise(QUOTA_CAPS);
	int r, e;

	r = (int)syscall(SYS_quotactl_fd, p->dir_fd, QCMD(cmd, USRQUOTA), id,
			 addr);
	e = errno;
	privs_lower(raised);
	return r < 0 ? -e : 0;
}

/* The uid's block hard limit, set to the pool's if it is not. */
static int pool_quota_set_limit(struct pool *p, uint32_t uid)
{
	uint64_t kib = (p->quota_bytes + QIF_DQBLKSIZE - 1) /
		       QIF_DQBLKSIZE;
	struct if_dqblk q = { 0 };
	int r = pool_quotactl(p, Q_GETQUOTA, uid, &q);

	if (!r && (q.dqb_valid & QIF_BLIMITS) && q.dqb_bhardlimit == kib &&
	    !q.dqb_bsoftlimit)
		return 0;
	memset(&q, 0, sizeof(q));
	q.dqb_bhardlimit = kib;
	q.dqb_valid = QIF_BLIMITS;
	return pool_quotactl(p, Q_SETQUOTA, uid, &q);
}

/* A device pool's uids that have an entry get the limit of this start. */
static int pool_quota_reconcile(struct pool *p)
{
	struct if_nextdqblk q;
	uint32_t id = 1;
	int r;

	for (;;) {
		memset(&q, 0, sizeof(q));
		r = pool_quotactl(p, Q_GETNEXTQUOTA, id, &q);
		if (r == -ENOENT || r == -ESRCH)
			return 0;
		if (r)
			return r;
		if (q.dqb_id && (r = pool_quota_set_limit(p, q.dqb_id)))
			return r;
		if (q.dqb_id == UINT32_MAX)
			return 0;
		id = q.dqb_id + 1;
	}
}

/**
 * pool_quota_setup() - check (and on a device pool switch on) user quota
 * @p:     the open pool
 * @limit: --max-pool-per-user in bytes; 0: none
 *
 * With @limit, the pool's filesystem must account user quota; a device
 * pool's enforcement is switched on, a directory pool's must be on
 * already.  A device pool's uids with an entry get the new limit.  Without
 * @limit, a device pool left enforcing by an earlier image (an UPGRADE
 * that dropped the option) stops enforcing.
 *
 * Return: 0, or -EOPNOTSUPP (logged, with what to do) where the limit
 * cannot be enforced, or the errno of quotactl(2).
 */
int pool_quota_setup(struct pool *p, uint64_t limit)
{
	struct fs_quota_stat qs = { .qs_version = FS_QSTAT_VERSION };
	int r = pool_quotactl(p, Q_XGETQSTAT, 0, &qs);

	p->quota = false;
	p->quota_bytes = limit;
	if (!limit) {
		if (p->mounted && !r && (qs.qs_flags & FS_QUOTA_UDQ_ENFD) &&
		    (r = pool_quotactl(p, Q_QUOTAOFF, 0, NULL)))
			log_warn("pool %s: cannot switch its user quota off: %s",
				 p->path, strerror(-r));
		return 0;
	}
	if (r || !(qs.qs_flags & FS_QUOTA_UDQ_ACCT)) {
		log_err("pool %s: its filesystem keeps no user quota (%s): --max-pool-per-user cannot be enforced there%s",
			p->path, r ? strerror(-r) : "not accounted",
			p->mounted ? "; unmount the pool and run tune2fs -O quota -Q usrquota on its device (every kernel that mounts it then needs CONFIG_QFMT_V2)" :
			"; give the pool a filesystem with user quota on, or start without it");
		return -EOPNOTSUPP;
	}
	if (!(qs.qs_flags & FS_QUOTA_UDQ_ENFD)) {
		if (!p->mounted) {
			log_err("pool %s: its filesystem accounts user quota but does not enforce it: run quotaon -u on it, or start without --max-pool-per-user",
				p->path);
			return -EOPNOTSUPP;
		}
		r = pool_quotactl(p, Q_QUOTAON, QFMT_VFS_V1, NULL);
		if (r && r != -EBUSY) {
			log_err("pool %s: cannot switch user quota on: %s",
				p->path, strerror(-r));
			return r;
		}
	}
	p->quota = true;
	r = p->mounted ? pool_quota_reconcile(p) : 0;
	if (r) {
		log_err("pool %s: cannot set the users' quota: %s", p->path,
			strerror(-r));
		return r;
	}
	log_info("pool %s: %llu bytes per uid other than root (user quota)",
		 p->path, (unsigned long long)limit);
	return 0;
}

/**
 * pool_quota_charge() - charge a new pool file to @uid, within its limit
 * @p:   the pool
 * @fd:  the file, empty, made by the daemon
 * @uid: who it is for
 *
 * Sets @uid's block hard limit to the pool's (once: it stays in the
 * filesystem's quota) and makes @uid the file's owner, so that the kernel
 * counts its blocks against that limit.  Root's files stay root's.
 * Nothing without the pool's quota.
 *
 * Return: 0 or -errno.
 */
int pool_quota_charge(struct pool *p, int fd, uint32_t uid)
{
	uint32_t raised;
	int r, e;

	if (!p->quota || !uid)
		return 0;
	r = pool_quota_set_limit(p, uid);
	if (r) {
		log_warn("pool: cannot set uid %u's quota: %s", uid,
			 strerror(-r));
		return r;
	}
	raised = privs_raise(1u << CAP_CHOWN);
	r = fchown(fd, (uid_t)uid, (gid_t)-1);
	e = errno;
	privs_lower(raised);
	return r < 0 ? -e : 0;
}

/**
 * pool_quota_room() - may @uid take @need more bytes of the pool?
 * @p:     the pool
 * @uid:   the uid
 * @need:  bytes it would take
 * @used:  out: what it uses now (blocks, with reservations)
 * @limit: out: its limit in bytes (--max-pool-per-user), 0 if none
 *
 * Return: 0; -EDQUOT past its limit; -errno of quotactl(2).  Always 0
 * for root or without the pool's quota.
 */
int pool_quota_room(struct pool *p, uint32_t uid, uint64_t need,
		    uint64_t *used, uint64_t *limit)
{
	struct if_dqblk q = { 0 };
	int r;

	*used = *limit = 0;
	if (!p->quota || !uid)
		return 0;
	r = pool_quotactl(p, Q_GETQUOTA, uid, &q);
	if (r)
		return r;
	/*
	 * The pool's limit, not the one in the filesystem: a uid that never
	 * made a pool file has none there yet (its copies get it).
	 */
	*used = q.dqb_curspace;
	*limit = p->quota_bytes;
	return *used > *limit || need > *limit - *used ? -EDQUOT : 0;
}

/**
 * pool_quota_write_begin() - the daemon is about to write a user's file
 * @p: the pool
 *
 * Lowers CAP_SYS_RESOURCE, which ignores quota, until
 * pool_quota_write_end(): the user's limit holds for the daemon's writes.
 *
 * Return: what to give pool_quota_write_end().
 */
uint32_t pool_quota_write_begin(struct pool *p)
{
	return p->quota ? privs_lower(1u << CAP_SYS_RESOURCE) : 0;
}

/**
 * pool_quota_write_end() - CAP_SYS_RESOURCE as before
 * @lowered: pool_quota_write_begin()'s result
 */
void pool_quota_write_end(uint32_t lowered)
{
	privs_raise(lowered);
}

/**
 * pool_quota_link_begin() - the daemon is about to link a user's file
 * @p: the pool
 *
 * Raises CAP_FOWNER until pool_quota_link_end(): with fs.protected_hardlinks
 * a file whose owner made it setuid could not be linked by the daemon
 * (REBOOT --kexec), and its owner could deny the kexec to everyone.
 *
 * Return: what to give pool_quota_link_end().
 */
uint32_t pool_quota_link_begin(struct pool *p)
{
	return p->quota ? privs_raise(1u << CAP_FOWNER) : 0;
}

/**
 * pool_quota_link_end() - CAP_FOWNER as before
 * @raised: pool_quota_link_begin()'s result
 */
void pool_quota_link_end(uint32_t raised)
{
	privs_lower(raised);
}
