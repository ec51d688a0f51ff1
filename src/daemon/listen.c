// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The listening socket.  AF_UNIX SOCK_SEQPACKET, mode 0600, backlog
 * SOMAXCONN, O_CLOEXEC and non-blocking.  Its directory is reached without
 * following another user's symlink and must be one nobody else controls;
 * it is changed (--group) only through its fd.  A socket file left behind
 * by a dead daemon of ours is replaced; a live daemon's, or another
 * user's, is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "luo_wire.h"

/**
 * listen_default_path() - the socket path when --socket is not given
 * @buf: out: the path
 * @len: size of @buf
 *
 * $LUO_SOCKET, else LUO_SOCKET_ROOT for root, else
 * $XDG_RUNTIME_DIR/liveupdate/liveupdate.sock.
 *
 * Return: 0, -ENOENT if none applies, -ENAMETOOLONG.
 */
int listen_default_path(char *buf, size_t len)
{
	const char *env = getenv(LUO_SOCKET_ENV);
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "%s", LUO_SOCKET_ROOT);
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, len, "%s/%s/%s", env, LUO_SOCKET_USER_DIR,
			     LUO_SOCKET_NAME);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int listen_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		log_err("socket path too long (max %zu bytes): %s",
			sizeof(sa->sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* Splits @path into its directory and its last component. */
static int listen_split(const char *path, char *dir, size_t dlen,
			const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	*name = slash ? slash + 1 : path;
	n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
	if (n >= dlen)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (!**name || !strcmp(*name, ".") || !strcmp(*name, "..")) {
		log_err("socket path %s names no file", path);
		return -EINVAL;
	}
	return 0;
}

/*
 * A directory on the way to the socket: root's or ours, and writable by
 * nobody else unless sticky (/tmp: others cannot rename or remove what is
 * not theirs).  Otherwise someone else could swap what comes after it.
 */
static int listen_check_parent(int fd, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_err("socket path: %s is owned by uid %u, not by root or "
			"us; refusing it", what, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		log_err("socket path: %s is writable by others (mode %04o); "
			"refusing it", what, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * The socket's own directory: ours and writable by nobody else (then
 * *@ours, and --group may change it), or a sticky directory of root's or
 * ours such as /tmp (used as it is).
 */
static int listen_check_dir(int fd, const char *what, bool *ours)
{
	struct stat st;

	*ours = false;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_mode & S_ISVTX) {
		if (st.st_uid == 0 || st.st_uid == geteuid())
			return 0;
	} else if (st.st_uid == geteuid()) {
		*ours = !(st.st_mode & (S_IWGRP | S_IWOTH));
		if (*ours)
			return 0;
		log_err("socket directory %s is writable by others (mode "
			"%04o); refusing it", what,
			(unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	log_err("socket directory %s is owned by uid %u, not by us (uid %u); "
		"refusing it", what, (unsigned int)st.st_uid,
		(unsigned int)geteuid());
	return -EPERM;
}

/*
 * Opens directory @name in @dir without following a symlink, unless the
 * symlink is root's or ours (such as /var/run -> /run).
 */
static int listen_open_parent(int dir, const char *name, const char *what)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	struct stat st;
	int fd = openat(dir, name, flags | O_NOFOLLOW);

	if (fd >= 0)
		return fd;
	if (errno == ELOOP || errno == ENOTDIR) {
		if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISLNK(st.st_mode))
			return -ENOTDIR;
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			log_err("socket path: %s is a symlink owned by uid %u; "
				"refusing to follow it", what,
				(unsigned int)st.st_uid);
			return -ELOOP;
		}
		fd = openat(dir, name, flags);
		if (fd >= 0)
			return fd;
	}
	log_err("socket path: cannot open %s: %m", what);
	return -errno;
}

/* The socket's directory, made (0755) if missing; never a symlink. */
static int listen_open_last(int dir, const char *name, const char *what)
{
	struct stat st;
	int fd, r;

	if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("cannot create %s: %s", what, strerror(-r));
		return r;
	}
	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	r = -errno;
	if ((r == -ELOOP || r == -ENOTDIR) &&
	    !fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISLNK(st.st_mode))
		log_err("socket directory %s is a symlink (owned by uid %u); "
			"refusing it", what, (unsigned int)st.st_uid);
	else if (r == -ELOOP || r == -ENOTDIR)
		log_err("socket directory %s is not a directory", what);
	else
		log_err("cannot open %s: %s", what, strerror(-r));
	return r;
}

/*
 * Walks @dir one component at a time from / or the working directory,
 * each directory on the way checked (listen_check_parent()), and returns
 * an fd of its last one, the socket's directory (listen_check_dir()).
 */
static int listen_walk(const char *dir, char *what, bool *ours)
{
	char *copy = strdup(dir), *comp, *next, *save = NULL;
	size_t used;
	int cur, fd, r;

	if (!copy)
		return -ENOMEM;
	used = (size_t)snprintf(what, PATH_MAX, "%s",
				dir[0] == '/' ? "/" : ".");
	cur = open(what, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = cur < 0 ? -errno : 0;
	for (comp = strtok_r(copy, "/", &save); !r && comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		r = listen_check_parent(cur, what);
		if (r)
			break;
		if (dir[0] != '/' && used == 1)
			used = 0;	/* "a/b", not "./a/b" */
		used += (size_t)snprintf(what + used, PATH_MAX - used, "%s%s",
					 used > 1 ? "/" : "", comp);
		if (used >= PATH_MAX) {
			r = -ENAMETOOLONG;
			break;
		}
		fd = next ? listen_open_parent(cur, comp, what) :
			    listen_open_last(cur, comp, what);
		close(cur);
		cur = fd;
		r = fd < 0 ? fd : 0;
	}
	free(copy);
	if (!r)
		r = listen_check_dir(cur, what, ours);
	if (!r && used == 1)
		*ours = false;	/* never change / or the working directory */
	if (r && cur >= 0)
		close(cur);
	return r ? r : cur;
}

/*
 * 0 if nobody listens on @name in @dir (removed if it is a stale socket
 * of ours), -EADDRINUSE if a daemon does, -EEXIST if it is something else
 * or someone else's.
 */
static int listen_clear_stale(int dir, const char *name,
			      const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; not touching it",
			sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (r == -ENOENT)
		return 0;
	if (r != -ECONNREFUSED) {
		log_err("another liveupdated is live on %s; refusing to start",
			sa->sun_path);
		return -EADDRINUSE;
	}
	if (st.st_uid != geteuid()) {
		log_err("%s is a stale socket of uid %u, not ours; not "
			"removing it", sa->sun_path, (unsigned int)st.st_uid);
		return -EEXIST;
	}
	log_info("removing stale socket %s", sa->sun_path);
	return unlinkat(dir, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/*
 * Binds by path (so that getsockname() names it for the next image), then
 * checks that the file landed in the directory walked (@dir): every
 * directory on the way is root's or ours, so nobody else can have swapped
 * one meanwhile, and this proves it.
 */
static int listen_bind(int dir, const char *name, const struct sockaddr_un *sa,
		       struct listen_file *file)
{
	struct stat st;
	mode_t old;
	int fd, r = 0;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		r = -errno;
	umask(old);
	if (!r && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (!r && (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())) {
		log_err("%s is not the socket just made; its directory "
			"changed under us", sa->sun_path);
		r = -EPERM;
	}
	if (!r && listen(fd, SOMAXCONN) < 0)
		r = -errno;
	if (r) {
		if (r != -EPERM)
			log_err("cannot listen on %s: %s", sa->sun_path,
				strerror(-r));
		close(fd);
		return r;
	}
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	return fd;
}

/*
 * --group: the socket becomes owner:@gid 0660; its directory owner:@gid
 * 0750 if it is ours (@ours: never a sticky directory such as /tmp), both
 * through the directory's fd.
 */
static int listen_set_group(int dir, const char *name, bool ours,
			    const char *path, gid_t gid)
{
	int r = 0;

	if (fchownat(dir, name, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(dir, name, 0660, 0) < 0)
		r = -errno;
	if (!r && ours && (fchown(dir, (uid_t)-1, gid) < 0 ||
			   fchmod(dir, 0750) < 0))
		r = -errno;
	if (r)
		log_err("cannot open %s to gid %u: %s", path, (unsigned int)gid,
			strerror(-r));
	else
		log_info("socket %s open to gid %u (0660)", path,
			 (unsigned int)gid);
	return r;
}

/**
 * listen_open() - make the listening socket at @path
 * @path: where
 * @gid:  --group: the group to open it to, or (gid_t)-1
 * @file: out: the socket file made, for listen_unlink()
 *
 * Walks to the socket's directory without following another user's
 * symlinks, creating its last level if missing; refuses a directory on
 * the way that is neither root's nor ours or that others may write to,
 * and a socket directory that is not ours (unless sticky, like /tmp).
 * Removes a stale socket of ours after checking that nobody listens on
 * it, refuses if a daemon does.  The socket is 0600, or 0660 and group
 * @gid with its directory 0750 if that directory is ours.  Logs why it
 * failed.
 *
 * Return: the socket fd, or -errno.
 */
int listen_open(const char *path, gid_t gid, struct listen_file *file)
{
	char dir[PATH_MAX], what[PATH_MAX];
	struct sockaddr_un sa;
	const char *name;
	bool ours = false;
	int dfd, fd, r;

	r = listen_addr(path, &sa);
	if (!r)
		r = listen_split(path, dir, sizeof(dir), &name);
	if (r)
		return r;
	dfd = listen_walk(dir, what, &ours);
	if (dfd < 0)
		return dfd;
	r = listen_clear_stale(dfd, name, &sa);
	fd = r ? r : listen_bind(dfd, name, &sa, file);
	if (fd >= 0 && gid != (gid_t)-1) {
		r = listen_set_group(dfd, name, ours, path, gid);
		if (r) {
			close(fd);
			unlinkat(dfd, name, 0);
			fd = r;
		}
	}
	close(dfd);
	return fd;
}

/**
 * listen_unlink() - remove the socket file at shut-down if it is ours
 * @path: its path
 * @file: what listen_open() or listen_adopt() found there
 *
 * A file that is not the one recorded (removed and replaced since, or
 * never known) is left alone.
 */
void listen_unlink(const char *path, const struct listen_file *file)
{
	struct stat st;

	if (!path[0] || !file->ino)
		return;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			log_warn("cannot remove %s: %m", path);
		return;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_dev != file->dev ||
	    st.st_ino != file->ino) {
		log_warn("%s is no longer our socket; not removing it", path);
		return;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %m", path);
}

static int listen_sockopt(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int val;

	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len) < 0)
		return -errno;
	return val;
}

/**
 * listen_adopt() - check and take over a listening socket inherited
 * @fd:   the inherited fd
 * @path: out: its path, for unlinking at shut-down ("" if unnamed)
 * @len:  size of @path
 * @file: out: the socket file found at @path if it is ours, for
 *        listen_unlink() (zero if not)
 *
 * Return: 0, -ENOTSOCK if @fd is not a listening AF_UNIX SOCK_SEQPACKET
 * socket, or another -errno.
 */
int listen_adopt(int fd, char *path, size_t len, struct listen_file *file)
{
	struct sockaddr_un sa;
	struct stat st;
	socklen_t salen = sizeof(sa);
	int fl;

	if (listen_sockopt(fd, SO_DOMAIN) != AF_UNIX ||
	    listen_sockopt(fd, SO_TYPE) != SOCK_SEQPACKET ||
	    listen_sockopt(fd, SO_ACCEPTCONN) != 1)
		return -ENOTSOCK;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
		return -errno;
	snprintf(path, len, "%.*s", (int)sizeof(sa.sun_path), sa.sun_path);
	memset(file, 0, sizeof(*file));
	if (path[0] && !lstat(path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_uid == geteuid()) {
		file->dev = st.st_dev;
		file->ino = st.st_ino;
	}
	return 0;
}
