// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The listening sockets of luo-listen(1): "tcp:ADDR:PORT",
 * "tcp6:[ADDR]:PORT" or "unix:PATH", each with an optional ",name=NAME"
 * for LISTEN_FDNAMES.  Stream sockets only, as systemd's ListenStream=.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listen-addr.h"

/* systemd's rule for an fd name: printable ASCII, no ':' (the separator). */
static bool fdname_ok(const char *n)
{
	if (!*n || strlen(n) > LISTEN_FDNAME_MAX)
		return false;
	for (; *n; n++)
		if (*n <= ' ' || *n > '~' || *n == ':')
			return false;
	return true;
}

static int parse_port(const char *p, in_port_t *port)
{
	char *end;
	long v;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = htons((in_port_t)v);
	return 0;
}

static int parse_tcp(char *a, struct listen_spec *s)
{
	char *colon = strrchr(a, ':');

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	s->family = AF_INET;
	s->addr.in.sin_family = AF_INET;
	s->len = sizeof(s->addr.in);
	if (inet_pton(AF_INET, a, &s->addr.in.sin_addr) != 1)
		return -EINVAL;
	return parse_port(colon + 1, &s->addr.in.sin_port);
}

static int parse_tcp6(char *a, struct listen_spec *s)
{
	char *close = strchr(a, ']');

	if (*a != '[' || !close || close[1] != ':')
		return -EINVAL;
	*close = '\0';
	s->family = AF_INET6;
	s->addr.in6.sin6_family = AF_INET6;
	s->len = sizeof(s->addr.in6);
	if (inet_pton(AF_INET6, a + 1, &s->addr.in6.sin6_addr) != 1)
		return -EINVAL;
	return parse_port(close + 2, &s->addr.in6.sin6_port);
}

static int parse_unix(const char *a, struct listen_spec *s)
{
	size_t n = strlen(a);

	if (a[0] != '/' || n >= sizeof(s->addr.un.sun_path))
		return -EINVAL;
	s->family = AF_UNIX;
	s->addr.un.sun_family = AF_UNIX;
	memcpy(s->addr.un.sun_path, a, n + 1);
	s->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/**
 * listen_spec_parse() - parse one socket of the command line
 * @arg:     "tcp:ADDR:PORT", "tcp6:[ADDR]:PORT" or "unix:/PATH", each
 *           optionally followed by ",name=NAME"
 * @defname: the name in LISTEN_FDNAMES when @arg gives none
 * @s:       out: the socket
 *
 * Return: 0, or -EINVAL if @arg is none of these or a name is not one
 * systemd would accept (printable ASCII without ':', 1 to 255 bytes).
 */
int listen_spec_parse(const char *arg, const char *defname,
		      struct listen_spec *s)
{
	const char *name = strstr(arg, ",name=");
	size_t n = name ? (size_t)(name - arg) : strlen(arg);
	char buf[sizeof(s->text)];

	memset(s, 0, sizeof(*s));
	if (n >= sizeof(s->text))
		return -EINVAL;
	memcpy(s->text, arg, n);
	memcpy(buf, arg, n);
	buf[n] = '\0';
	name = name ? name + strlen(",name=") : defname;
	if (!fdname_ok(name))
		return -EINVAL;
	strcpy(s->name, name);
	if (!strncmp(buf, "tcp:", 4))
		return parse_tcp(buf + 4, s);
	if (!strncmp(buf, "tcp6:", 5))
		return parse_tcp6(buf + 5, s);
	if (!strncmp(buf, "unix:", 5))
		return parse_unix(buf + 5, s);
	return -EINVAL;
}

/*
 * A socket file left by an earlier listener may go; nothing else may, nor
 * a socket something still listens on (a watcher parking it again after
 * liveupdated restarted, another program).
 */
static int unlink_stale(const struct sockaddr_un *un, socklen_t len)
{
	struct stat st;
	int fd, live;

	if (lstat(un->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	live = connect(fd, (const struct sockaddr *)un, len) == 0 ||
	       errno == EAGAIN;
	close(fd);
	if (live)
		return -EADDRINUSE;
	return unlink(un->sun_path) < 0 ? -errno : 0;
}

/**
 * listen_spec_create() - create, bind and listen on one socket
 * @s:       the socket
 * @backlog: listen(2)'s backlog
 *
 * TCP sockets get SO_REUSEADDR (a restart binds while connections of the
 * previous listener are in TIME_WAIT), IPv6 ones IPV6_V6ONLY (so that
 * "tcp:" and "tcp6:" may share a port).  A Unix socket file left at the
 * path is replaced unless something listens on it; any other file there
 * is EADDRINUSE.
 *
 * Return: the fd, close-on-exec, or a negative errno.
 */
int listen_spec_create(const struct listen_spec *s, int backlog)
{
	int one = 1, fd, err = 0;

	fd = socket(s->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (s->family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		err = -errno;
	if (!err && s->family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		err = -errno;
	if (!err && s->family == AF_UNIX)
		err = unlink_stale(&s->addr.un, s->len);
	if (!err && bind(fd, &s->addr.sa, s->len) < 0)
		err = -errno;
	if (!err && listen(fd, backlog) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int sockopt_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_SOCKET, opt, v, &len) < 0 ? -errno : 0;
}

static bool same_addr(const struct listen_spec *s, const void *a,
		      socklen_t len)
{
	const struct sockaddr_in *in = a;
	const struct sockaddr_in6 *in6 = a;
	const struct sockaddr_un *un = a;

	switch (s->family) {
	case AF_INET:
		return len == sizeof(*in) &&
		       in->sin_port == s->addr.in.sin_port &&
		       in->sin_addr.s_addr == s->addr.in.sin_addr.s_addr;
	case AF_INET6:
		return len == sizeof(*in6) &&
		       in6->sin6_port == s->addr.in6.sin6_port &&
		       !memcmp(&in6->sin6_addr, &s->addr.in6.sin6_addr,
			       sizeof(in6->sin6_addr));
	default:
		return len > offsetof(struct sockaddr_un, sun_path) &&
		       !strncmp(un->sun_path, s->addr.un.sun_path,
				sizeof(un->sun_path));
	}
}

/* "the socket of tcp:127.0.0.1:8080" for a socket bound elsewhere. */
static void format_addr(const void *a, char *why, size_t len)
{
	const struct sockaddr_in *in = a;
	const struct sockaddr_in6 *in6 = a;
	const struct sockaddr_un *un = a;
	char ip[INET6_ADDRSTRLEN] = "?";

	switch (in->sin_family) {
	case AF_INET:
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(why, len, "the socket of tcp:%s:%u", ip,
			 ntohs(in->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(why, len, "the socket of tcp6:[%s]:%u", ip,
			 ntohs(in6->sin6_port));
		break;
	default:
		snprintf(why, len, "the socket of unix:%.*s",
			 (int)sizeof(un->sun_path), un->sun_path);
	}
}

/**
 * listen_spec_check() - is @fd the socket @s names?
 * @s:   the socket the command line names
 * @fd:  a socket kept from an earlier start
 * @why: out: what differs, when it does
 * @len: the size of @why
 *
 * Compares family, type, listening state and bound address.
 *
 * Return: 0 if @fd is that socket, -ESTALE (with @why) if it is another,
 * another negative errno if it cannot be asked.
 */
int listen_spec_check(const struct listen_spec *s, int fd, char *why,
		      size_t len)
{
	union {
		struct sockaddr_storage ss;
		struct sockaddr_un un;
	} a;
	socklen_t alen = sizeof(a);
	int family, type, listening, err;

	err = sockopt_int(fd, SO_DOMAIN, &family);
	err = err ?: sockopt_int(fd, SO_TYPE, &type);
	err = err ?: sockopt_int(fd, SO_ACCEPTCONN, &listening);
	if (err)
		return err;
	if (getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -errno;
	if (family != s->family || type != SOCK_STREAM) {
		snprintf(why, len,
			 "another kind of socket (family %d, type %d)",
			 family, type);
		return -ESTALE;
	}
	if (!listening) {
		snprintf(why, len, "a socket that does not listen");
		return -ESTALE;
	}
	if (!same_addr(s, &a, alen)) {
		format_addr(&a, why, len);
		return -ESTALE;
	}
	return 0;
}
