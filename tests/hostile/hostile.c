// SPDX-License-Identifier: LGPL-2.1-or-later
/* Shared pieces of the hostile-client tests; see hostile.h. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <luo/libluo.h>

#include "hostile.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One request and its answer, each within HOSTILE_DEADLINE_MS. */
static int timed_call(int fd, uint32_t cmd, void *arg, uint32_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct luo_wire_rep rep;
	int r = wc_send(fd, cmd, arg, len, NULL, 0);

	if (r)
		return r;
	r = poll(&p, 1, HOSTILE_DEADLINE_MS);
	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	r = wc_recv(fd, &rep, arg, len, NULL);
	return r ? r : rep.result;
}

/**
 * hostile_status_rtt() - a good client: connect, open, STATUS
 * @sock: the daemon's socket
 * @ns:   out: how long the whole exchange took
 *
 * Return: 0, -ETIMEDOUT if an answer took longer than HOSTILE_DEADLINE_MS,
 * or another -errno.
 */
int hostile_status_rtt(const char *sock, uint64_t *ns)
{
	struct luo_wire_open op = {
		.size = sizeof(op), .mode = LUO_WIRE_MODE_CONTROL,
		.version = LUO_WIRE_VERSION,
	};
	struct luo_status st = { .size = sizeof(st) };
	uint64_t t0 = now_ns();
	int fd = wc_connect(sock), r;

	if (fd < 0)
		return fd;
	r = timed_call(fd, LUO_WIRE_OPEN, &op, sizeof(op));
	if (!r)
		r = timed_call(fd, LUO_IOCTL_STATUS, &st, sizeof(st));
	close(fd);
	*ns = now_ns() - t0;
	if (!r && st.pid == 0)
		r = -EPROTO;
	return r;
}

/**
 * hostile_raise_nofile() - raise RLIMIT_NOFILE's soft limit to @want
 * @want: fds needed (by us and by the daemon, which inherits it)
 *
 * Return: 0, or -EMFILE if the hard limit is lower.
 */
int hostile_raise_nofile(unsigned int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		return -EMFILE;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/**
 * hostile_as_user() - run @fn in a child that is @uid/@gid, nothing more
 * @uid: the user
 * @gid: its only group
 * @fn:  returns the child's exit code
 * @ctx: its argument
 *
 * Return: @fn's exit code, 128 + a signal, or -errno.
 */
int hostile_as_user(uid_t uid, gid_t gid, int (*fn)(void *ctx), void *ctx)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(120);
		_exit(fn(ctx));
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return dh_exit_code(status);
}
