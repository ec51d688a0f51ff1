// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The open family: a path naming /dev/liveupdate opens the daemon; any
 * other path goes to libc untouched.  The fortified __open*_2 entry points
 * are what programs built with _FORTIFY_SOURCE call instead of open.
 */
#undef _FORTIFY_SOURCE
/* Define open and stat themselves, not the *64 names they redirect to. */
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <stdarg.h>

#include "preload.h"

static bool lp_needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define LP_MODE(flags, last)						\
	({								\
		mode_t __m = 0;						\
		if (lp_needs_mode(flags)) {				\
			va_list __ap;					\
			va_start(__ap, last);				\
			__m = va_arg(__ap, int);			\
			va_end(__ap);					\
		}							\
		__m;							\
	})

/** open() - open(2), /dev/liveupdate included */
LP_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = LP_MODE(flags, flags);

	if (lp_is_device(AT_FDCWD, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(open)(path, flags, mode);
}

/** open64() - open64(2), /dev/liveupdate included */
LP_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = LP_MODE(flags, flags);

	if (lp_is_device(AT_FDCWD, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(open64)(path, flags, mode);
}

/** openat() - openat(2), /dev/liveupdate included */
LP_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = LP_MODE(flags, flags);

	if (lp_is_device(dirfd, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(openat)(dirfd, path, flags, mode);
}

/** openat64() - openat64(2), /dev/liveupdate included */
LP_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = LP_MODE(flags, flags);

	if (lp_is_device(dirfd, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(openat64)(dirfd, path, flags, mode);
}

/** __open_2() - fortified open(2) without a mode */
LP_EXPORT int __open_2(const char *path, int flags)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(__open_2)(path, flags);
}

/** __open64_2() - fortified open64(2) without a mode */
LP_EXPORT int __open64_2(const char *path, int flags)
{
	if (lp_is_device(AT_FDCWD, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(__open64_2)(path, flags);
}

/** __openat_2() - fortified openat(2) without a mode */
LP_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	if (lp_is_device(dirfd, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(__openat_2)(dirfd, path, flags);
}

/** __openat64_2() - fortified openat64(2) without a mode */
LP_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	if (lp_is_device(dirfd, path))
		return lp_ret(lp_open_device(flags));
	return LP_NEXT(__openat64_2)(dirfd, path, flags);
}
