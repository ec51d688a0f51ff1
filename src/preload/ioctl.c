// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ioctl(2): on a device or session fd every request is the kernel's
 * (lp_emulate_ioctl()), whatever its type byte, since the kernel's own
 * dispatch answers foreign codes too (EINVAL or ENOTTY, SPEC.md 2.1);
 * only the requests the VFS handles before any driver (close-on-exec,
 * non-blocking, async) go to libc.  Every other fd goes to libc untouched.
 */
#include <stdarg.h>
#include <sys/ioctl.h>

#include "preload.h"

static bool lp_vfs_ioctl(uint32_t cmd)
{
	return cmd == FIOCLEX || cmd == FIONCLEX || cmd == FIONBIO ||
	       cmd == FIOASYNC;
}

/** ioctl() - ioctl(2), the fds of /dev/liveupdate included */
LP_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	int saved, ret;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (lp_vfs_ioctl((uint32_t)request) || !lp_fd_is_ours(fd))
		return lp_real_ioctl(fd, request, arg);
	saved = errno;
	ret = lp_emulate_ioctl(fd, (uint32_t)request, arg);
	if (ret < 0)
		return lp_ret(ret);
	errno = saved;
	return ret;
}
