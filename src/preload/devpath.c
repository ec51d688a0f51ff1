// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The device node: which paths name /dev/liveupdate, whether the daemon
 * behind it is there, and the stat of the node the kernel would have.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <luo/libluo.h>
#include "preload.h"

/*
 * A misc device has major 10 and a dynamic minor; this one is fixed so
 * that st_rdev is stable for the length of a run.
 */
#define LP_MISC_MAJOR	10
#define LP_MISC_MINOR	122

/* Does the directory part @dir (relative to @dirfd) name /dev? */
static bool lp_dir_is_dev(int dirfd, const char *dir)
{
	struct stat a, b;
	int saved = errno;
	bool same;

	same = !lp_real_fstatat(dirfd, dir, &a, 0) &&
	       !lp_real_fstatat(AT_FDCWD, "/dev", &b, 0) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	errno = saved;
	return same;
}

/**
 * lp_is_device() - does a path name /dev/liveupdate?
 * @dirfd: the directory a relative @path starts from, or AT_FDCWD
 * @path:  the path, may be NULL
 *
 * "/dev/liveupdate" is recognised at once; any other path whose last
 * component is "liveupdate" is recognised when its directory is /dev
 * (same device and inode), so "//dev/./liveupdate", "../dev/liveupdate"
 * or "liveupdate" relative to an fd of /dev name it too.
 *
 * Return: true if it does.
 */
bool lp_is_device(int dirfd, const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t n;

	if (!path)
		return false;
	if (!strcmp(path, LP_DEVICE_PATH))
		return true;
	slash = strrchr(path, '/');
	if (strcmp(slash ? slash + 1 : path, LP_DEVICE_NAME))
		return false;
	if (!slash)
		return lp_dir_is_dev(dirfd, ".");
	n = (size_t)(slash - path);
	if (n >= sizeof(dir))
		return false;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return lp_dir_is_dev(dirfd, n ? dir : "/");
}

/**
 * lp_socket_path() - the daemon's socket, as libluo finds it
 * @buf: receives the path
 * @len: size of @buf
 *
 * Return: 0 or a negative errno of luo_default_socket_path().
 */
int lp_socket_path(char *buf, size_t len)
{
	return luo_default_socket_path(buf, len);
}

/**
 * lp_probe_daemon() - is a daemon listening, and which process is it?
 * @pid: out: its pid (SO_PEERCRED of a connection to it); may be NULL
 *
 * Connects to the socket and closes the connection again without a
 * handshake, which the daemon treats as a client that went away.
 *
 * Return: 0, or -ENOENT if nothing listens there.
 */
int lp_probe_daemon(pid_t *pid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, ret = 0, saved = errno;

	if (lp_socket_path(sun.sun_path, sizeof(sun.sun_path)))
		return -ENOENT;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		ret = -ENOENT;
	else if (pid && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		ret = -errno;
	else if (pid)
		*pid = cred.pid;
	close(fd);
	errno = saved;
	return ret;
}

/**
 * lp_device_stat() - the stat of the character device the kernel creates
 * @st: out: a character device, mode 0600, major 10, with the owner and
 *      times of the daemon's socket (root for the system daemon, so the
 *      kernel's root:root 0600 node), st_dev of /dev
 *
 * Return: 0, or -ENOENT if no daemon is reachable (no node, as on a
 * kernel without LUO).
 */
int lp_device_stat(struct stat *st)
{
	char path[PATH_MAX];
	struct stat sock, dev;

	if (lp_probe_daemon(NULL) || lp_socket_path(path, sizeof(path)) ||
	    lp_real_fstatat(AT_FDCWD, path, &sock, 0) < 0 ||
	    lp_real_fstatat(AT_FDCWD, "/dev", &dev, 0) < 0)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_dev = dev.st_dev;
	st->st_ino = sock.st_ino;
	st->st_mode = S_IFCHR | 0600;
	st->st_nlink = 1;
	st->st_uid = sock.st_uid;
	st->st_gid = sock.st_gid;
	st->st_rdev = makedev(LP_MISC_MAJOR, LP_MISC_MINOR);
	st->st_blksize = 4096;
	st->st_atim = sock.st_atim;
	st->st_mtim = sock.st_mtim;
	st->st_ctim = sock.st_ctim;
	return 0;
}
