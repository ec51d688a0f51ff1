// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libluo checks who listens (issue 8 item 4): a socket served by another
 * user (a test user listening in a directory it owns, $LUO_SOCKET
 * pointing there, as a root agent might be pointed) is refused by
 * luo_open() run as root with EPERM, and nothing at all is sent to it:
 * no handshake, so never a memfd.  The same user's own listener is
 * trusted by that user's libluo.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "hostile.h"
#include "testusers.h"

#define FAKE_CONNS	8

static struct tu_user user;
static char dir[64];
static struct sockaddr_un sa = { .sun_family = AF_UNIX };
static int ready[2], stop[2];

/* Answers a handshake with success, as a daemon would; counts messages. */
static int fake_serve(int fd, int *msgs)
{
	char buf[256];
	struct luo_wire_rep rep = { .result = 0 };
	struct luo_wire_open op = {
		.size = sizeof(op), .mode = LUO_WIRE_MODE_DEVICE,
		.version = LUO_WIRE_VERSION,
	};
	struct iovec iov[2] = {
		{ .iov_base = &rep, .iov_len = sizeof(rep) },
		{ .iov_base = &op, .iov_len = sizeof(op) },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n <= 0)
		return n < 0 && errno == EAGAIN ? 0 : -1;
	(*msgs)++;
	rep.len = sizeof(op);
	sendmsg(fd, &msg, MSG_NOSIGNAL);
	return 0;
}

/* As the test user: listen, report ready, serve until told to stop. */
static int fake_daemon(void *ctx)
{
	struct pollfd p[2 + FAKE_CONNS];
	int lfd, n = 2, msgs = 0, i;

	close(ready[0]);
	close(stop[1]);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 8) < 0) {
		fprintf(stderr, "fake daemon: %s: %m\n", sa.sun_path);
		return 100;
	}
	if (write(ready[1], "R", 1) != 1)
		return 101;
	p[0] = (struct pollfd){ .fd = stop[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		if (poll(p, (nfds_t)n, HOSTILE_DEADLINE_MS) <= 0)
			return 102;
		if (p[0].revents)
			break;
		if ((p[1].revents & POLLIN) && n < 2 + FAKE_CONNS) {
			p[n].fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			p[n].events = POLLIN;
			p[n].revents = 0;
			n += p[n].fd >= 0;
		}
		for (i = 2; i < n; i++)
			if (p[i].revents && fake_serve(p[i].fd, &msgs))
				p[i].events = 0;
	}
	return msgs > 50 ? 50 : msgs;
}

/* Stops the fake daemon: how many messages it was sent. */
static int fake_stop(pid_t pid)
{
	int status;

	close(stop[1]);
	dh_check_eq(waitpid(pid, &status, 0), pid);
	unlink(sa.sun_path);
	dh_check(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static pid_t fake_start(void)
{
	char c;
	pid_t pid;

	dh_check_eq(pipe(ready), 0);
	dh_check_eq(pipe(stop), 0);
	pid = tu_spawn_as(&user, fake_daemon, NULL);
	dh_check(pid > 0);
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "fake daemon: exit %d\n", fake_stop(pid));
		dh_fail(__FILE__, __LINE__, "fake daemon not ready");
	}
	close(ready[0]);
	return pid;
}

/* As the test user: its own listener is trusted. */
static int open_own(void *ctx)
{
	int fd = luo_open();

	if (fd < 0)
		return 10;
	luo_close(fd);
	return 0;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	pid_t pid;
	int fd;

	if (!tu_available())
		dh_skip("needs root and useradd");
	dh_check_eq(tu_user_create(&user, "peer", NULL), 0);
	snprintf(dir, sizeof(dir), "%s/luo-peer-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dh_check(mkdtemp(dir) != NULL);
	dh_check_eq(chmod(dir, 0755), 0);
	dh_check_eq(chown(dir, user.uid, user.gid), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/liveupdate.sock", dir);
	dh_check_eq(setenv("LUO_SOCKET", sa.sun_path, 1), 0);

	pid = fake_start();
	/* The user opened its socket to all: only SO_PEERCRED says no. */
	dh_check_eq(chmod(sa.sun_path, 0666), 0);
	fd = luo_open();
	if (fd >= 0)
		luo_close(fd);
	dh_check_eq(fd, -EPERM);
	dh_check_eq(luo_open_at(sa.sun_path, LUO_OPEN_CONTROL), -EPERM);
	dh_check_eq(fake_stop(pid), 0);

	pid = fake_start();
	dh_check_eq(tu_run_as(&user, open_own, NULL), 0);
	dh_check_eq(fake_stop(pid), 1);

	rmdir(dir);
	tu_user_remove(&user);
	return DH_PASS;
}
