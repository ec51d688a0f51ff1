// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * open("/dev/liveupdate"): a device open of the daemon (luo_open_at()),
 * with the open flags the kernel would apply to the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include <luo/libluo.h>
#include "preload.h"

/*
 * What open(2) of an existing character device says before the driver;
 * with no daemon there is no node (ENOENT, even with O_CREAT: the
 * preload never creates a file at the device's path).
 */
static int lp_vfs_checks(int flags)
{
	int err = 0;

	if ((flags & O_CREAT) && (flags & O_EXCL))
		err = -EEXIST;
	else if (flags & O_DIRECTORY)	/* O_TMPFILE includes it */
		err = -ENOTDIR;
	if (err && lp_probe_daemon(NULL))
		err = -ENOENT;
	return err;
}

/* The open file's flags: close-on-exec only if asked, O_NONBLOCK if asked. */
static int lp_apply_flags(int fd, int flags)
{
	if (!(flags & O_CLOEXEC) && fcntl(fd, F_SETFD, 0) < 0)
		return -errno;
	if ((flags & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* O_PATH opens the node without the driver: here, the daemon's socket. */
static int lp_open_path(int flags)
{
	char path[PATH_MAX];
	int fd;

	if (lp_probe_daemon(NULL) || lp_socket_path(path, sizeof(path)))
		return -ENOENT;
	fd = LP_NEXT(openat)(AT_FDCWD, path, flags);
	return fd < 0 ? -errno : fd;
}

/**
 * lp_open_device() - open the daemon as open("/dev/liveupdate", @flags)
 * @flags: the open flags
 *
 * Return: the device fd, or -ENOENT if no daemon listens (no device node),
 * -EBUSY if the device is open already, another negative errno of
 * luo_open_at() or of the checks open(2) makes on a character device.
 */
int lp_open_device(int flags)
{
	int fd, ret;

	if (flags & O_PATH)
		return lp_open_path(flags);
	ret = lp_vfs_checks(flags);
	if (ret)
		return ret;
	fd = luo_open_at(NULL, LUO_OPEN_DEVICE);
	if (fd < 0)
		return fd;
	ret = lp_apply_flags(fd, flags);
	if (ret) {
		luo_close(fd);
		return ret;
	}
	lp_owner_add(fd, 0);
	return fd;
}
