// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The listening socket.  AF_UNIX SOCK_SEQPACKET, mode 0600, backlog
 * SOMAXCONN, O_CLOEXEC and non-blocking.  A socket file left behind by a
 * dead daemon is replaced; a live daemon's is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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

/* Creates the socket's directory (one level, 0755) if it is missing. */
static int listen_mkdir(const char *path)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (mkdir(dirname(copy), 0755) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("cannot create %s: %s", copy, strerror(-r));
	}
	free(copy);
	return r;
}

/* 0 if nobody listens at @sa (removed if stale), -EADDRINUSE if a daemon does. */
static int listen_clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
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
	if (r == -ECONNREFUSED) {
		log_info("removing stale socket %s", sa->sun_path);
		return unlink(sa->sun_path) < 0 && errno != ENOENT ? -errno : 0;
	}
	if (r == -ENOENT)
		return 0;
	log_err("another liveupdated is live on %s; refusing to start",
		sa->sun_path);
	return -EADDRINUSE;
}

static int listen_bind(const struct sockaddr_un *sa)
{
	mode_t old;
	int fd, r = 0;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		r = -errno;
	umask(old);
	if (!r && listen(fd, SOMAXCONN) < 0)
		r = -errno;
	if (r) {
		log_err("cannot listen on %s: %s", sa->sun_path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

/**
 * listen_open() - make the listening socket at @path
 * @path: where
 *
 * Creates the directory if missing, removes a stale socket file after
 * checking that nobody listens on it, refuses if a daemon does.  Logs why
 * it failed.
 *
 * Return: the socket fd, or -errno.
 */
int listen_open(const char *path)
{
	struct sockaddr_un sa;
	int r;

	r = listen_addr(path, &sa);
	if (!r)
		r = listen_mkdir(path);
	if (!r)
		r = listen_clear_stale(&sa);
	if (r)
		return r;
	return listen_bind(&sa);
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
 * listen_set_group() - open the socket to one group (--group)
 * @path: the socket, just made (mode 0600)
 * @gid:  the group
 *
 * The socket becomes owner:@gid 0660.  Its directory becomes owner:@gid
 * 0750 if the daemon owns it and it is not sticky (never /tmp); any other
 * directory is left as it is and must let the group through.
 *
 * Return: 0 or -errno (logged).
 */
int listen_set_group(const char *path, gid_t gid)
{
	char *copy = strdup(path), *dir;
	struct stat st;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (chown(path, (uid_t)-1, gid) < 0 || chmod(path, 0660) < 0)
		r = -errno;
	dir = dirname(copy);
	if (!r && !stat(dir, &st) && st.st_uid == geteuid() &&
	    !(st.st_mode & S_ISVTX) &&
	    (chown(dir, (uid_t)-1, gid) < 0 || chmod(dir, 0750) < 0))
		r = -errno;
	if (r)
		log_err("cannot open %s to gid %u: %s", path, (unsigned int)gid,
			strerror(-r));
	else
		log_info("socket %s open to gid %u (0660)", path,
			 (unsigned int)gid);
	free(copy);
	return r;
}

/**
 * listen_adopt() - check and take over a listening socket inherited
 * @fd:   the inherited fd
 * @path: out: its path, for unlinking at shut-down ("" if unnamed)
 * @len:  size of @path
 *
 * Return: 0, -ENOTSOCK if @fd is not a listening AF_UNIX SOCK_SEQPACKET
 * socket, or another -errno.
 */
int listen_adopt(int fd, char *path, size_t len)
{
	struct sockaddr_un sa;
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
	return 0;
}
