/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake liveupdated for libluo's tests: it speaks the wire protocol of
 * src/common/luo_wire.h in a forked child, following a script the test
 * gives it as a function.  The child's exit status is the verdict of its
 * own checks; the parent collects it with waitpid.  No sleeps anywhere:
 * the parent and the child synchronise on the socket itself.
 */
#ifndef LUO_TEST_FAKE_H
#define LUO_TEST_FAKE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>
#include "luo_wire.h"

static int fake_failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: check failed: %s\n",	\
			__FILE__, __LINE__, __func__, #cond);		\
		fake_failures++;					\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, __func__, #a, _a, #b, _b);	\
		fake_failures++;					\
	}								\
} while (0)

/* One request as the fake daemon received it. */
struct fake_msg {
	ssize_t n;			/* bytes received, 0 at EOF */
	struct luo_wire_req req;
	unsigned char arg[LUO_WIRE_MAX_ARG];
	int fds[8];
	int nr_fds;
};

static inline int fake_recv(int s, struct fake_msg *m)
{
	unsigned char buf[LUO_WIRE_MAX_REQ];
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cmsg.buf, .msg_controllen = sizeof(cmsg.buf),
	};
	struct cmsghdr *c;

	memset(m, 0, sizeof(*m));
	do {
		m->n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	} while (m->n < 0 && errno == EINTR);
	if (m->n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		memcpy(m->fds + m->nr_fds, CMSG_DATA(c), nr * sizeof(int));
		m->nr_fds += nr;
	}
	if (m->n >= (ssize_t)sizeof(m->req)) {
		memcpy(&m->req, buf, sizeof(m->req));
		memcpy(m->arg, buf + sizeof(m->req), m->n - sizeof(m->req));
	}
	return 0;
}

static inline void fake_close_fds(struct fake_msg *m)
{
	int i;

	for (i = 0; i < m->nr_fds; i++)
		close(m->fds[i]);
	m->nr_fds = 0;
}

/* Send raw bytes with @nr_fds fds attached. */
static inline int fake_send_raw(int s, const void *buf, size_t len,
				const int *fds, int nr_fds)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nr_fds) {
		struct cmsghdr *c;

		memset(&cmsg, 0, sizeof(cmsg));
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = CMSG_SPACE(nr_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nr_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nr_fds * sizeof(int));
	}
	return sendmsg(s, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* A well-formed reply: header, @len copy-back bytes, @extra_len payload. */
static inline int fake_reply(int s, int32_t result, const void *data,
			     uint32_t len, const void *extra,
			     uint32_t extra_len, int fd)
{
	size_t total = sizeof(struct luo_wire_rep) + len + extra_len;
	unsigned char *buf = calloc(1, total);
	struct luo_wire_rep rep = {
		.result = result, .len = len, .extra_len = extra_len,
	};
	int ret;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, &rep, sizeof(rep));
	if (len)
		memcpy(buf + sizeof(rep), data, len);
	if (extra_len)
		memcpy(buf + sizeof(rep) + len, extra, extra_len);
	ret = fake_send_raw(s, buf, total, &fd, fd >= 0 ? 1 : 0);
	free(buf);
	return ret;
}

/* Echo the request's argument back as the copy-back, as a kernel would. */
static inline int fake_echo(int s, const struct fake_msg *m, uint32_t ksize,
			    int fd)
{
	uint32_t len = m->req.len < ksize ? m->req.len : ksize;

	return fake_reply(s, 0, m->arg, len, NULL, 0, fd);
}

typedef int (*fake_fn)(int s, void *ctx);

/*
 * Start a fake daemon on one end of a socket pair; the other end, a
 * stand-in for a device or session fd, goes to *@client.
 */
static inline pid_t fake_start(int *client, fake_fn fn, void *ctx)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(sv[0]);
		fake_failures = 0;
		_exit(fn(sv[1], ctx) || fake_failures ? 1 : 0);
	}
	close(sv[1]);
	*client = sv[0];
	return pid;
}

/* Start a fake daemon that accepts connections on @lfd. */
static inline pid_t fake_start_listener(int lfd, fake_fn fn, void *ctx)
{
	pid_t pid = fork();

	if (pid == 0) {
		fake_failures = 0;
		_exit(fn(lfd, ctx) || fake_failures ? 1 : 0);
	}
	return pid;
}

/* Wait for the fake daemon; true if it exited 0. */
static inline bool fake_wait(pid_t pid)
{
	int status;

	if (pid < 0)
		return false;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return false;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#define CHECK_SERVER(pid) do {						\
	if (!fake_wait(pid)) {						\
		fprintf(stderr, "%s:%d: %s: fake daemon failed\n",	\
			__FILE__, __LINE__, __func__);			\
		fake_failures++;					\
	}								\
} while (0)

static inline int fake_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* A listening socket in a fresh temporary directory. */
static inline int fake_listen(char *path, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/luo-test-XXXXXX";
	int fd;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, len, "%s/liveupdate.sock", dir);
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline void fake_unlink(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
}

static inline int fake_result(const char *name)
{
	if (fake_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name,
			fake_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif /* LUO_TEST_FAKE_H */
