// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stat and access families: /dev/liveupdate is a character device
 * while a daemon is reachable and does not exist otherwise; every other
 * path goes to libc untouched.  The __*xstat* entry points are the stat
 * ABI of programs built against glibc before 2.33; their struct is the
 * one of fstatat(2) on every architecture where glibc still has them, so
 * they are answered with fstatat.
 */
#undef _FORTIFY_SOURCE
/* Define open and stat themselves, not the *64 names they redirect to. */
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "preload.h"

static int lp_stat_into(void *buf, size_t size)
{
	struct stat st;
	int ret = lp_device_stat(&st);

	if (ret)
		return lp_ret(ret);
	memcpy(buf, &st, size);
	return 0;
}

/** stat() - stat(2), /dev/liveupdate included */
LP_EXPORT int stat(const char *path, struct stat *st)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_stat_into(st, sizeof(*st));
	return LP_NEXT(stat)(path, st);
}

/** stat64() - stat64(2), /dev/liveupdate included */
LP_EXPORT int stat64(const char *path, struct stat64 *st)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_stat_into(st, sizeof(*st));
	return LP_NEXT(stat64)(path, st);
}

/** lstat() - lstat(2), /dev/liveupdate included */
LP_EXPORT int lstat(const char *path, struct stat *st)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_stat_into(st, sizeof(*st));
	return LP_NEXT(lstat)(path, st);
}

/** lstat64() - lstat64(2), /dev/liveupdate included */
LP_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_stat_into(st, sizeof(*st));
	return LP_NEXT(lstat64)(path, st);
}

/** fstatat() - fstatat(2), /dev/liveupdate included */
LP_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	if (lp_is_device(dirfd, path))
		return lp_stat_into(st, sizeof(*st));
	return lp_real_fstatat(dirfd, path, st, flags);
}

/** fstatat64() - fstatat64(2), /dev/liveupdate included */
LP_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st,
			int flags)
{
	if (lp_is_device(dirfd, path))
		return lp_stat_into(st, sizeof(*st));
	return LP_NEXT(fstatat64)(dirfd, path, st, flags);
}

/** __xstat() - stat(2) of glibc before 2.33 */
LP_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return fstatat(AT_FDCWD, path, st, 0);
}

/** __lxstat() - lstat(2) of glibc before 2.33 */
LP_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/** __fxstatat() - fstatat(2) of glibc before 2.33 */
LP_EXPORT int __fxstatat(int ver, int dirfd, const char *path,
			 struct stat *st, int flags)
{
	return fstatat(dirfd, path, st, flags);
}

/** __xstat64() - stat64(2) of glibc before 2.33 */
LP_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return fstatat64(AT_FDCWD, path, st, 0);
}

/** __lxstat64() - lstat64(2) of glibc before 2.33 */
LP_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return fstatat64(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/** __fxstatat64() - fstatat64(2) of glibc before 2.33 */
LP_EXPORT int __fxstatat64(int ver, int dirfd, const char *path,
			   struct stat64 *st, int flags)
{
	return fstatat64(dirfd, path, st, flags);
}

static void lp_statx_fill(struct statx *sx, const struct stat *st)
{
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (__u32)st->st_blksize;
	sx->stx_nlink = (__u32)st->st_nlink;
	sx->stx_uid = st->st_uid;
	sx->stx_gid = st->st_gid;
	sx->stx_mode = (__u16)st->st_mode;
	sx->stx_ino = st->st_ino;
	sx->stx_atime.tv_sec = st->st_atim.tv_sec;
	sx->stx_atime.tv_nsec = (__u32)st->st_atim.tv_nsec;
	sx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	sx->stx_ctime.tv_nsec = (__u32)st->st_ctim.tv_nsec;
	sx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	sx->stx_mtime.tv_nsec = (__u32)st->st_mtim.tv_nsec;
	sx->stx_rdev_major = major(st->st_rdev);
	sx->stx_rdev_minor = minor(st->st_rdev);
	sx->stx_dev_major = major(st->st_dev);
	sx->stx_dev_minor = minor(st->st_dev);
}

/** statx() - statx(2), /dev/liveupdate included */
LP_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		    struct statx *sx)
{
	struct stat st;
	int ret;

	if (!lp_is_device(dirfd, path))
		return LP_NEXT(statx)(dirfd, path, flags, mask, sx);
	ret = lp_device_stat(&st);
	if (ret)
		return lp_ret(ret);
	lp_statx_fill(sx, &st);
	return 0;
}

/*
 * access(2) of a node with the device's owner and mode 0600: root may read
 * and write, the owner too, nobody may execute.
 */
static int lp_access(int mode, bool effective)
{
	struct stat st;
	uid_t uid = effective ? geteuid() : getuid();
	int ret;

	if (mode & ~(R_OK | W_OK | X_OK))
		return lp_ret(-EINVAL);
	ret = lp_device_stat(&st);
	if (ret)
		return lp_ret(ret);
	if (mode == F_OK)
		return 0;
	if ((mode & X_OK) || (uid != 0 && uid != st.st_uid))
		return lp_ret(-EACCES);
	return 0;
}

/** access() - access(2), /dev/liveupdate included */
LP_EXPORT int access(const char *path, int mode)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_access(mode, false);
	return LP_NEXT(access)(path, mode);
}

/** faccessat() - faccessat(2), /dev/liveupdate included */
LP_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	if (lp_is_device(dirfd, path))
		return lp_access(mode, flags & AT_EACCESS);
	return LP_NEXT(faccessat)(dirfd, path, mode, flags);
}

/** euidaccess() - euidaccess(3), /dev/liveupdate included */
LP_EXPORT int euidaccess(const char *path, int mode)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_access(mode, true);
	return LP_NEXT(euidaccess)(path, mode);
}

/** eaccess() - eaccess(3), /dev/liveupdate included */
LP_EXPORT int eaccess(const char *path, int mode)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_access(mode, true);
	return LP_NEXT(eaccess)(path, mode);
}
